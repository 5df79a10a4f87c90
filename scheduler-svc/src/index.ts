export { createScheduler, type Scheduler, type SchedulerDeps, type TickReport } from './scheduler.js';
export { SchedulerEnvSchema, schedulerConfig, tickToCron, type SchedulerConfig, type SchedulerEnv } from './config.js';
export { PeriodicRuns, type PeriodicRunsReport } from './jobs/periodic-runs.js';
export { DueRetries, DueWaits, ExpiredLeases, LostRequests, REQUEUE_PER_TRANSACTION } from './jobs/requeue.js';
export {
  ExecutionRetention,
  DEFAULT_EXECUTION_RETENTION_OPTIONS,
  DEFAULT_EXECUTION_RETENTION_MS,
  type ExecutionRetentionOptions,
  type ExecutionRetentionReport,
} from './jobs/execution-retention.js';
export { IdempotencyPurge, DEFAULT_IDEMPOTENCY_PURGE_OPTIONS, type IdempotencyPurgeOptions } from './jobs/idempotency-purge.js';
export { OutboxRelay, DEFAULT_RELAY_OPTIONS, type OutboxRelayOptions } from './jobs/outbox-relay.js';
export { startSchedulerService, type SchedulerService, type SchedulerServiceDeps } from './service.js';
