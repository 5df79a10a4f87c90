import { CommonEnvSchema, env } from '@wf/shared';
import { z } from 'zod';

/** `5s`, `1s`, `30s` (a divisor of 60) → node-cron's seconds expression `*\/N * * * * *`. */
export function tickToCron(tick: string): string {
  const match = /^([1-9][0-9]?)s$/.exec(tick);
  const seconds = match ? Number(match[1]) : NaN;
  if (!Number.isInteger(seconds) || 60 % seconds !== 0) throw new Error(`invalid tick ${tick}`);
  return seconds === 1 ? '* * * * * *' : `*/${seconds} * * * * *`;
}

const Tick = z
  .preprocess((v) => (v === '' ? undefined : v), z.string().default('5s'))
  .refine((tick) => {
    try {
      tickToCron(tick);
      return true;
    } catch {
      return false;
    }
  }, 'must be a whole number of seconds that divides 60, e.g. "1s", "5s", "30s"');

export const SchedulerEnvSchema = CommonEnvSchema.extend({
  SCHEDULER_TICK: Tick,
  SCHEDULER_BATCH_SIZE: env.int(1, 10_000).default(500),
  SCHEDULER_CONCURRENCY: env.int(1, 256).default(16),
  SCHEDULER_LEASE_MS: env.int(1_000, 600_000).default(30_000),
  SCHEDULER_REQUEUE_QUEUED_AFTER: env.duration('5m'),
  OUTBOX_BATCH_SIZE: env.int(1, 10_000).default(500),
  OUTBOX_LOCK_MS: env.int(1_000, 600_000).default(30_000),
  OUTBOX_RETENTION: env.duration('1h'),
  HEALTH_PORT: env.int(0, 65_535).default(3001),
});
export type SchedulerEnv = z.infer<typeof SchedulerEnvSchema>;

export interface SchedulerConfig {
  tick: string;
  batchSize: number;
  concurrency: number;
  leaseMs: number;
  /** A run still queued this long after its request was relayed has its request sent again (the message was lost). */
  requeueQueuedAfterMs: number;
  outbox: { batchSize: number; lockMs: number; retentionMs: number };
}

export function schedulerConfig(variables: SchedulerEnv): SchedulerConfig {
  return {
    tick: variables.SCHEDULER_TICK,
    batchSize: variables.SCHEDULER_BATCH_SIZE,
    concurrency: variables.SCHEDULER_CONCURRENCY,
    leaseMs: variables.SCHEDULER_LEASE_MS,
    requeueQueuedAfterMs: variables.SCHEDULER_REQUEUE_QUEUED_AFTER,
    outbox: { batchSize: variables.OUTBOX_BATCH_SIZE, lockMs: variables.OUTBOX_LOCK_MS, retentionMs: variables.OUTBOX_RETENTION },
  };
}
