import { z } from 'zod';
import { env } from './load-config.js';
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

export type BusSettings = { kind: 'in-process' } | { kind: 'kafka'; brokers: string[]; clientId: string; partitions?: number };

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
  return { kind: 'kafka', brokers: variables.KAFKA_BROKERS, clientId: variables.KAFKA_CLIENT_ID, ...(variables.KAFKA_PARTITIONS ? { partitions: variables.KAFKA_PARTITIONS } : {}) };
}

export function topics(variables: CommonEnv): Topics {
  return { requested: variables.TOPIC_EXECUTION_REQUESTED, result: variables.TOPIC_EXECUTION_RESULT, deadLetter: variables.TOPIC_DEAD_LETTER };
}
