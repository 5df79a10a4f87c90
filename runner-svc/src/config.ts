import { CommonEnvSchema, env } from '@wf/shared';
import type { z } from 'zod';

export const RunnerEnvSchema = CommonEnvSchema.extend({
  RUNNER_GROUP_ID: env.string().default('runner'),
  RUNNER_CONCURRENCY: env.int(1, 1_000).default(32),
  RUNNER_BATCH_SIZE: env.int(1, 10_000).default(200),
  RUNNER_LEASE_MARGIN_MS: env.int(1_000, 600_000).default(15_000),
  RUNNER_MAX_DELIVERIES: env.int(1, 1_000).default(5),
  HTTP_ALLOW_HOSTS: env.list().optional(),
  HTTP_ALLOW_CIDRS: env.list().optional(),
  HTTP_MAX_BODY_BYTES: env.int(1_024, 64 * 1024 * 1024).default(1024 * 1024),
  HEALTH_PORT: env.int(0, 65_535).default(3002),
});
export type RunnerEnv = z.infer<typeof RunnerEnvSchema>;

export interface RunnerConfig {
  groupId: string;
  concurrency: number;
  batchSize: number;
  leaseMarginMs: number;
  /** Failed deliveries of one execution attempt's request before the runner fails the run and dead-letters the request. */
  maxDeliveries: number;
  http: { allowHosts: string[]; allowCidrs: string[]; maxBodyBytes: number };
}

export function runnerConfig(e: RunnerEnv): RunnerConfig {
  return {
    groupId: e.RUNNER_GROUP_ID,
    concurrency: e.RUNNER_CONCURRENCY,
    batchSize: e.RUNNER_BATCH_SIZE,
    leaseMarginMs: e.RUNNER_LEASE_MARGIN_MS,
    maxDeliveries: e.RUNNER_MAX_DELIVERIES,
    http: { allowHosts: e.HTTP_ALLOW_HOSTS ?? [], allowCidrs: e.HTTP_ALLOW_CIDRS ?? [], maxBodyBytes: e.HTTP_MAX_BODY_BYTES },
  };
}
