import { CommonEnvSchema, env, requireSecretsKeyOutsideMemory, secretsKeys, SecretsKeyEnvFields, type SecretsKeys } from '@wf/shared';
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
  ...SecretsKeyEnvFields,
}).superRefine(requireSecretsKeyOutsideMemory);
export type RunnerEnv = z.infer<typeof RunnerEnvSchema>;

export interface RunnerConfig {
  groupId: string;
  concurrency: number;
  batchSize: number;
  leaseMarginMs: number;
  /** Failed deliveries of one execution attempt's request before the runner fails the run and dead-letters the request. */
  maxDeliveries: number;
  http: { allowHosts: string[]; allowCidrs: string[]; maxBodyBytes: number };
  /** Opens the users' secrets at the moment a step uses them. */
  secrets: SecretsKeys;
}

/** `generatedSecretsKey` stands in for an unset `SECRETS_KEY` in the embedded mode (the caller generates it and says so). */
export function runnerConfig(variables: RunnerEnv, generatedSecretsKey?: string): RunnerConfig {
  return {
    secrets: secretsKeys(variables, generatedSecretsKey),
    groupId: variables.RUNNER_GROUP_ID,
    concurrency: variables.RUNNER_CONCURRENCY,
    batchSize: variables.RUNNER_BATCH_SIZE,
    leaseMarginMs: variables.RUNNER_LEASE_MARGIN_MS,
    maxDeliveries: variables.RUNNER_MAX_DELIVERIES,
    http: { allowHosts: variables.HTTP_ALLOW_HOSTS ?? [], allowCidrs: variables.HTTP_ALLOW_CIDRS ?? [], maxBodyBytes: variables.HTTP_MAX_BODY_BYTES },
  };
}
