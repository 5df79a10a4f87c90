import { z } from 'zod';
import { intervalToMs } from './domain/workflow.js';

export class ConfigError extends Error {
  constructor(readonly variables: string[], message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Reads configuration from `env` with a zod object whose keys are variable names. A bad
 * or missing value throws a `ConfigError` naming every offending variable.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // A variable set to the empty string means "unset" (so defaults apply), as in most shells' usage.
  const result = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const variables = [...new Set(result.error.issues.map((i) => String(i.path[0])))];
  throw new ConfigError(variables, `invalid configuration: ${problems.join('; ')}`);
}

/** Schemas for env variable values (strings); `loadConfig` has already dropped empty ones. */
export const env = {
  string: () => z.string().min(1),
  url: () => z.url(),
  int: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  bool: () => z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
  list: () =>
    z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.string()).min(1)),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  /** `30s`, `15m`, `1h` → milliseconds, `fallback` when unset. */
  duration: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .pipe(z.string().regex(/^[1-9][0-9]{0,5}(s|m|h)$/, 'must be like "30s", "15m", "1h"'))
      .transform((v) => intervalToMs(v)),
};

/**
 * For a service's `main`: loads configuration, or prints one JSON line naming the bad
 * variables to stderr and exits 1, before anything else starts.
 */
export function loadConfigOrExit<S extends z.ZodObject>(schema: S, service: string, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), service, variables: err.variables, msg: err.message })}\n`,
    );
    process.exit(1);
  }
}
