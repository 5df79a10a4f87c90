import { CommonEnvSchema, ConfigError, intervalToMs, requireSecretsKeyOutsideMemory, secretsKeys, SecretsKeyEnvFields, storeSettings, type SecretsKeys } from '@wf/shared';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/*
 * The env helpers in @wf/shared run their preprocess *inside* `.optional()`/`.default()`,
 * so `PORT=` (set but empty) fails instead of falling back. These wrap the whole schema,
 * which makes an empty variable mean "unset", as documented there.
 */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const int = (min: number, max: number, fallback: number) =>
  z.preprocess(unsetIfEmpty, z.coerce.number().int().min(min).max(max).default(fallback));
/** `30s`, `15m`, `1h`, `7d` → milliseconds. */
const duration = (fallback: string) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^[1-9][0-9]{0,5}(s|m|h|d)$/, 'must be a whole number followed by s, m, h or d, e.g. "15m"')
      .default(fallback)
      .transform((v) => intervalToMs(v)),
  );

const MIN_JWT_SECRET_BYTES = 32;
/** `web/dist/app` of the repository, from `workflows-svc/dist/src/config.js`. */
const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist/app', import.meta.url));

/** The variables workflows-svc reads, on top of the ones every service reads. */
export const WorkflowsEnvSchema = CommonEnvSchema.extend({
  PORT: int(0, 65_535, 3000),
  /** HS256 key. Optional only with the memory store, where the caller generates one. */
  JWT_SECRET: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .refine((v) => Buffer.byteLength(v, 'utf8') >= MIN_JWT_SECRET_BYTES, `must be at least ${MIN_JWT_SECRET_BYTES} bytes`)
      .optional(),
  ),
  JWT_EXPIRES_IN: duration('1h'),
  /** Where clients reach this API, for the hook URLs it hands out; else the request's origin. */
  PUBLIC_BASE_URL: z.preprocess(
    unsetIfEmpty,
    z
      .url({ protocol: /^https?$/ })
      .transform((v) => v.replace(/\/+$/, ''))
      .optional(),
  ),
  /** The built dashboard to serve at `/`; by default the `web` workspace's build beside this package. */
  WEB_ROOT: z.preprocess(unsetIfEmpty, z.string().min(1).optional()),
  /** Reverse proxies in front of the service (express `trust proxy` hops); 0 trusts none. */
  TRUST_PROXY: int(0, 10, 0),
  // Rate limits: a limit of 0 turns that limit off.
  LOGIN_RATE_WINDOW: duration('15m'),
  /** Failed logins per email from one client address per window (then 429). */
  LOGIN_RATE_LIMIT_PER_EMAIL: int(0, 1_000_000, 10),
  /** Failed logins per client address per window (then 429). */
  LOGIN_RATE_LIMIT_PER_IP: int(0, 1_000_000, 100),
  /** Failed logins per email, from any address, after which every attempt at it waits (progressively longer). */
  LOGIN_SLOWDOWN_AFTER: int(0, 1_000_000, 10),
  /** The longest such wait. */
  LOGIN_SLOWDOWN_MAX_DELAY_MS: int(0, 60_000, 10_000),
  SIGNUP_RATE_WINDOW: duration('1h'),
  /** Signup attempts per client address per window. */
  SIGNUP_RATE_LIMIT_PER_IP: int(0, 1_000_000, 30),
  /** Signup attempts per email per window. */
  SIGNUP_RATE_LIMIT_PER_EMAIL: int(0, 1_000_000, 5),
  TRIGGER_RATE_WINDOW: duration('1m'),
  /** Manual triggers per user per window; generous so benchmarks are not throttled. */
  TRIGGER_RATE_LIMIT_PER_USER: int(0, 1_000_000, 6_000),
  /** Manual (per workflow) and webhook (per hook) triggers per window. */
  TRIGGER_RATE_LIMIT_PER_WORKFLOW: int(0, 1_000_000, 1_200),
  ...SecretsKeyEnvFields,
}).superRefine((variables, ctx) => {
  requireSecretsKeyOutsideMemory(variables, ctx);
  if (variables.JWT_SECRET !== undefined || usesMemoryStore(variables)) return;
  ctx.addIssue({
    code: 'custom',
    path: ['JWT_SECRET'],
    message: `required unless the store is memory; at least ${MIN_JWT_SECRET_BYTES} bytes`,
  });
});
export type WorkflowsEnv = z.infer<typeof WorkflowsEnvSchema>;

function usesMemoryStore(variables: z.infer<typeof CommonEnvSchema>): boolean {
  try {
    return storeSettings(variables).kind === 'memory';
  } catch {
    return false; // a misconfigured durable store: the store's own check names the variable
  }
}

export interface RateLimit {
  windowMs: number;
  /** Requests per window; 0 means unlimited. */
  limit: number;
}

/** What the HTTP app needs, in the shape it uses it. */
export interface WorkflowsConfig {
  port: number;
  jwt: { secret: string; expiresInSeconds: number };
  publicBaseUrl?: string;
  trustProxy: number;
  /** Where the built dashboard is; served when it holds a build. */
  webRoot?: string;
  rateLimits: {
    loginPerEmailAndIp: RateLimit;
    loginPerIp: RateLimit;
    signupPerIp: RateLimit;
    signupPerEmail: RateLimit;
    triggerPerUser: RateLimit;
    triggerPerWorkflow: RateLimit;
  };
  loginSlowdown: LoginSlowdown;
  /** Seals the users' secrets (`PUT /secrets/:name`). */
  secrets: SecretsKeys;
}

/** Failed logins at one email, from anywhere, slow its next attempts down instead of refusing them. */
export interface LoginSlowdown {
  windowMs: number;
  /** Failures per window before attempts wait; 0 never waits. */
  after: number;
  maxDelayMs: number;
}

/**
 * Shapes validated variables into the app's configuration. `generatedJwtSecret` is the
 * embedded mode's stand-in for an unset `JWT_SECRET`; the caller generates it and says so.
 */
export function workflowsConfig(variables: WorkflowsEnv, generatedJwtSecret?: string, generatedSecretsKey?: string): WorkflowsConfig {
  const secret = variables.JWT_SECRET ?? generatedJwtSecret;
  if (secret === undefined) throw new ConfigError(['JWT_SECRET'], 'JWT_SECRET: required (or generate one for the embedded mode)');
  if (Buffer.byteLength(secret, 'utf8') < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(['JWT_SECRET'], `JWT_SECRET: must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
  }
  const login = variables.LOGIN_RATE_WINDOW;
  const trigger = variables.TRIGGER_RATE_WINDOW;
  return {
    port: variables.PORT,
    jwt: { secret, expiresInSeconds: Math.floor(variables.JWT_EXPIRES_IN / 1000) },
    ...(variables.PUBLIC_BASE_URL ? { publicBaseUrl: variables.PUBLIC_BASE_URL } : {}),
    trustProxy: variables.TRUST_PROXY,
    webRoot: variables.WEB_ROOT ?? DEFAULT_WEB_ROOT,
    rateLimits: {
      loginPerEmailAndIp: { windowMs: login, limit: variables.LOGIN_RATE_LIMIT_PER_EMAIL },
      loginPerIp: { windowMs: login, limit: variables.LOGIN_RATE_LIMIT_PER_IP },
      signupPerIp: { windowMs: variables.SIGNUP_RATE_WINDOW, limit: variables.SIGNUP_RATE_LIMIT_PER_IP },
      signupPerEmail: { windowMs: variables.SIGNUP_RATE_WINDOW, limit: variables.SIGNUP_RATE_LIMIT_PER_EMAIL },
      triggerPerUser: { windowMs: trigger, limit: variables.TRIGGER_RATE_LIMIT_PER_USER },
      triggerPerWorkflow: { windowMs: trigger, limit: variables.TRIGGER_RATE_LIMIT_PER_WORKFLOW },
    },
    loginSlowdown: { windowMs: login, after: variables.LOGIN_SLOWDOWN_AFTER, maxDelayMs: variables.LOGIN_SLOWDOWN_MAX_DELAY_MS },
    secrets: secretsKeys(variables, generatedSecretsKey),
  };
}
