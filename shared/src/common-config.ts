import { z } from 'zod';
import { ConfigError, env } from './load-config.js';
import { parseSecretsKey } from './secrets-cipher.js';
import { DEFAULT_TOPICS, type Topics } from './domain/events.js';
import { DEFAULT_MAX_STEP_OUTPUT_BYTES } from './adapters/step-bound.js';

/** How long a service waits for its store and broker at start-up unless `STARTUP_TIMEOUT` says otherwise. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 5 * 60_000;

/** Variables every service reads: where the store and the broker are, and how to log. */
export const CommonEnvSchema = z.object({
  STORE: z.enum(['memory', 'mongo', 'postgres']).optional(),
  MONGO_URL: env.string().optional(),
  DATABASE_URL: env.string().optional(),
  KAFKA_BROKERS: env.list().optional(),
  KAFKA_CLIENT_ID: env.string().default('wf'),
  /** Partitions of the topics a service creates (existing topics keep theirs); default `DEFAULT_TOPIC_PARTITIONS`. */
  KAFKA_PARTITIONS: env.int(1, 10_000).optional(),
  /** How often a consumer commits its offsets, in ms; 0 after every batch. Default `DEFAULT_KAFKA_TUNING.commitIntervalMs`. */
  KAFKA_COMMIT_INTERVAL_MS: env.int(0, 60_000).optional(),
  TOPIC_EXECUTION_REQUESTED: env.string().default(DEFAULT_TOPICS.requested),
  TOPIC_EXECUTION_RESULT: env.string().default(DEFAULT_TOPICS.result),
  TOPIC_DEAD_LETTER: env.string().default(DEFAULT_TOPICS.deadLetter),
  LOG_LEVEL: env.logLevel().default('info'),
  // At most 256 KiB: MAX_ACTIONS steps, each an output and an error this large, then stay far
  // under MongoDB's 16 MiB per document.
  STEP_OUTPUT_MAX_BYTES: env.int(1_024, 256 * 1024).default(DEFAULT_MAX_STEP_OUTPUT_BYTES),
  /** How long start-up waits for the store and the broker before the service gives up and exits. */
  STARTUP_TIMEOUT: env.duration(`${DEFAULT_STARTUP_TIMEOUT_MS / 60_000}m`),
});
export type CommonEnv = z.infer<typeof CommonEnvSchema>;

/** How a store keeps what it is given, whichever it is. */
export interface StoreLimits {
  /** STEP_OUTPUT_MAX_BYTES: a larger step output is stored truncated. */
  maxStepOutputBytes: number;
  /** The outbox relay's OUTBOX_RETENTION, given by the scheduler only: MongoDB's outbox TTL follows it. */
  outboxRetentionMs?: number;
}

export type StoreSettings = ({ kind: 'memory' } | { kind: 'mongo'; url: string } | { kind: 'postgres'; url: string }) & StoreLimits;

export type BusSettings = { kind: 'in-process' } | { kind: 'kafka'; brokers: string[]; clientId: string; partitions?: number; commitIntervalMs?: number };

/** Which store: `STORE` if given, else the one whose URL is set, else memory. */
export function storeSettings(variables: CommonEnv, scheduler: { outboxRetentionMs?: number } = {}): StoreSettings {
  const kind = variables.STORE ?? (variables.MONGO_URL ? 'mongo' : variables.DATABASE_URL ? 'postgres' : 'memory');
  const limits: StoreLimits = { maxStepOutputBytes: variables.STEP_OUTPUT_MAX_BYTES, ...scheduler };
  if (kind === 'mongo') {
    if (!variables.MONGO_URL) throw new Error('MONGO_URL: required when STORE=mongo');
    return { kind, url: variables.MONGO_URL, ...limits };
  }
  if (kind === 'postgres') {
    if (!variables.DATABASE_URL) throw new Error('DATABASE_URL: required when STORE=postgres');
    return { kind, url: variables.DATABASE_URL, ...limits };
  }
  return { kind: 'memory', ...limits };
}

export function busSettings(variables: CommonEnv): BusSettings {
  if (!variables.KAFKA_BROKERS) return { kind: 'in-process' };
  return {
    kind: 'kafka',
    brokers: variables.KAFKA_BROKERS,
    clientId: variables.KAFKA_CLIENT_ID,
    ...(variables.KAFKA_PARTITIONS ? { partitions: variables.KAFKA_PARTITIONS } : {}),
    ...(variables.KAFKA_COMMIT_INTERVAL_MS !== undefined ? { commitIntervalMs: variables.KAFKA_COMMIT_INTERVAL_MS } : {}),
  };
}

export function topics(variables: CommonEnv): Topics {
  return { requested: variables.TOPIC_EXECUTION_REQUESTED, result: variables.TOPIC_EXECUTION_RESULT, deadLetter: variables.TOPIC_DEAD_LETTER };
}

const isSecretsKey = (v: string) => {
  try {
    parseSecretsKey(v);
    return true;
  } catch {
    return false;
  }
};
const SECRETS_KEY_FORMAT = 'must be 32 bytes as 64 hex digits or base64, e.g. the output of `openssl rand -base64 32`';

/**
 * The key secrets are sealed with (workflows-svc) and opened with (runner-svc), and the
 * previous keys still accepted for opening after a rotation (see the README).
 */
export const SecretsKeyEnvFields = {
  SECRETS_KEY: env.string().refine(isSecretsKey, SECRETS_KEY_FORMAT).optional(),
  SECRETS_KEY_PREVIOUS: env.list().refine((keys) => keys.every(isSecretsKey), `each ${SECRETS_KEY_FORMAT}`).optional(),
};

/** A `superRefine` for a service schema: `SECRETS_KEY` is required unless the store is memory (the embedded mode, which generates one). */
export function requireSecretsKeyOutsideMemory(e: CommonEnv & { SECRETS_KEY?: string | undefined }, ctx: z.RefinementCtx): void {
  if (e.SECRETS_KEY !== undefined) return;
  let memory = false;
  try {
    memory = storeSettings(e).kind === 'memory';
  } catch {
    return; // a misconfigured durable store: its own check names the variable
  }
  if (!memory) ctx.addIssue({ code: 'custom', path: ['SECRETS_KEY'], message: `required unless the store is memory; ${SECRETS_KEY_FORMAT}` });
}

export interface SecretsKeys {
  current: string;
  previous: string[];
}

/** The keys from the environment; `generated` stands in for an unset `SECRETS_KEY` in the embedded mode. */
export function secretsKeys(e: { SECRETS_KEY?: string | undefined; SECRETS_KEY_PREVIOUS?: string[] | undefined }, generated?: string): SecretsKeys {
  const current = e.SECRETS_KEY ?? generated;
  if (current === undefined) throw new ConfigError(['SECRETS_KEY'], 'SECRETS_KEY: required (or generate one for the embedded mode)');
  return { current, previous: e.SECRETS_KEY_PREVIOUS ?? [] };
}
