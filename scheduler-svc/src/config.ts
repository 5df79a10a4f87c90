import { CommonEnvSchema, env, intervalToMs } from '@wf/shared';
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

const DAY_MS = 24 * 3600 * 1000;
/** Like `env.duration`, in days too: `30d`, `12h`, `15m`, `90s`. */
const LongDuration = (fallback: string) =>
  z
    .preprocess((v) => (v === '' ? undefined : v), z.string().default(fallback))
    .pipe(z.string().regex(/^[1-9][0-9]{0,5}(s|m|h|d)$/, 'must be like "30d", "12h", "15m", "90s"'))
    .transform((v) => (v.endsWith('d') ? Number(v.slice(0, -1)) * DAY_MS : intervalToMs(v)));

export const SchedulerEnvSchema = CommonEnvSchema.extend({
  SCHEDULER_TICK: Tick,
  SCHEDULER_BATCH_SIZE: env.int(1, 10_000).default(500),
  SCHEDULER_CONCURRENCY: env.int(1, 256).default(16),
  SCHEDULER_LEASE_MS: env.int(1_000, 600_000).default(30_000),
  SCHEDULER_REQUEUE_QUEUED_AFTER: env.duration('5m'),
  OUTBOX_BATCH_SIZE: env.int(1, 10_000).default(500),
  OUTBOX_LOCK_MS: env.int(1_000, 600_000).default(30_000),
  OUTBOX_RETENTION: env.duration('1h'),
  EXECUTION_RETENTION: LongDuration('30d'),
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
  /** Finished runs are deleted this long after they finished (30 days when absent); `everyMs` and `batchSize` default to the job's. */
  executions?: { retentionMs: number; everyMs?: number; batchSize?: number };
}

export function schedulerConfig(variables: SchedulerEnv): SchedulerConfig {
  return {
    tick: variables.SCHEDULER_TICK,
    batchSize: variables.SCHEDULER_BATCH_SIZE,
    concurrency: variables.SCHEDULER_CONCURRENCY,
    leaseMs: variables.SCHEDULER_LEASE_MS,
    requeueQueuedAfterMs: variables.SCHEDULER_REQUEUE_QUEUED_AFTER,
    outbox: { batchSize: variables.OUTBOX_BATCH_SIZE, lockMs: variables.OUTBOX_LOCK_MS, retentionMs: variables.OUTBOX_RETENTION },
    executions: { retentionMs: variables.EXECUTION_RETENTION },
  };
}
