import { z } from 'zod';
import { env } from './config.js';
import { DEFAULT_TOPICS, type Topics } from './domain/events.js';

/** Variables every service reads: where the store and the broker are, and how to log. */
export const CommonEnvSchema = z.object({
  STORE: z.enum(['memory', 'mongo', 'postgres']).optional(),
  MONGO_URL: env.string().optional(),
  DATABASE_URL: env.string().optional(),
  KAFKA_BROKERS: env.list().optional(),
  KAFKA_CLIENT_ID: env.string().default('wf'),
  TOPIC_EXECUTION_REQUESTED: env.string().default(DEFAULT_TOPICS.requested),
  TOPIC_EXECUTION_RESULT: env.string().default(DEFAULT_TOPICS.result),
  TOPIC_DEAD_LETTER: env.string().default(DEFAULT_TOPICS.deadLetter),
  LOG_LEVEL: env.logLevel().default('info'),
});
export type CommonEnv = z.infer<typeof CommonEnvSchema>;

export type StoreSettings =
  | { kind: 'memory' }
  | { kind: 'mongo'; url: string }
  | { kind: 'postgres'; url: string };

export type BusSettings = { kind: 'in-process' } | { kind: 'kafka'; brokers: string[]; clientId: string };

/** Which store: `STORE` if given, else the one whose URL is set, else memory. */
export function storeSettings(e: CommonEnv): StoreSettings {
  const kind = e.STORE ?? (e.MONGO_URL ? 'mongo' : e.DATABASE_URL ? 'postgres' : 'memory');
  if (kind === 'mongo') {
    if (!e.MONGO_URL) throw new Error('MONGO_URL: required when STORE=mongo');
    return { kind, url: e.MONGO_URL };
  }
  if (kind === 'postgres') {
    if (!e.DATABASE_URL) throw new Error('DATABASE_URL: required when STORE=postgres');
    return { kind, url: e.DATABASE_URL };
  }
  return { kind: 'memory' };
}

export function busSettings(e: CommonEnv): BusSettings {
  return e.KAFKA_BROKERS ? { kind: 'kafka', brokers: e.KAFKA_BROKERS, clientId: e.KAFKA_CLIENT_ID } : { kind: 'in-process' };
}

export function topics(e: CommonEnv): Topics {
  return { requested: e.TOPIC_EXECUTION_REQUESTED, result: e.TOPIC_EXECUTION_RESULT, deadLetter: e.TOPIC_DEAD_LETTER };
}
