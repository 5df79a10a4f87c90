/*
 * The core of @wf/shared: domain, ports, application services, and what every layer uses
 * (errors, validation, configuration, logging, ids). No adapter: each family is its own
 * entry point (@wf/shared/memory, /postgres, /mongo, /inprocess, /kafka, /http; /open
 * opens the store and bus that configuration selects; /ops is metrics, health and process
 * lifecycle), so a service loads only the drivers its composition root wires.
 */
export * from './domain/workflow.js';
export * from './domain/condition.js';
export * from './domain/secret.js';
export * from './secrets-cipher.js';
export * from './domain/execution.js';
export * from './domain/user.js';
export * from './domain/events.js';
export * from './domain/outbox.js';
export * from './domain/retry.js';
export * from './domain/schedule.js';
export * from './domain/idempotency.js';
export * from './domain/cron.js';
export * from './domain/run-stats.js';
export * from './ports/repos.js';
export * from './ports/bus.js';
export * from './ports/clock.js';
export * from './ports/http.js';
export * from './errors.js';
export * from './validation.js';
export * from './load-config.js';
export * from './common-config.js';
export * from './logger.js';
export * from './ids.js';
export { boundError, boundStep, DEFAULT_MAX_STEP_OUTPUT_BYTES, type StepBoundOptions, type TruncatedOutput } from './adapters/step-bound.js';
export * from './app/accept-run.js';
export * from './app/run-result.js';
export * from './app/group-commit.js';
