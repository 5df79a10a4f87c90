import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The metrics every service may record. One registry per service (per process in the
 * embedded mode), so tests and the embedded mode never collide on global state.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly executionsFinished = new Counter({
    name: 'wf_execution_attempts_total',
    help: 'Execution attempts finished by a runner, by resulting status (completed, pending_retry, failed)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly executionsAccepted = new Counter({
    name: 'wf_executions_accepted_total',
    help: 'Runs accepted (queued), by trigger type',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });

  readonly executionsByStatus = new Gauge({
    name: 'wf_executions',
    help: 'Executions in the store, by status (sampled on scrape)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly actionDuration = new Histogram({
    name: 'wf_action_duration_seconds',
    help: 'Duration of one action run, by action type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly outboxBacklog = new Gauge({
    name: 'wf_outbox_backlog',
    help: 'Outbox messages not yet published (sampled on scrape)',
    registers: [this.registry],
  });

  readonly outboxOldestAge = new Gauge({
    name: 'wf_outbox_oldest_age_seconds',
    help: 'Age of the oldest unpublished outbox message (sampled on scrape)',
    registers: [this.registry],
  });

  readonly outboxPublished = new Counter({
    name: 'wf_outbox_published_total',
    help: 'Outbox messages published to the broker',
    registers: [this.registry],
  });

  readonly outboxPublishFailures = new Counter({
    name: 'wf_outbox_publish_failures_total',
    help: 'Failed outbox publish attempts (batches)',
    registers: [this.registry],
  });

  readonly schedulerLateness = new Histogram({
    name: 'wf_scheduler_lateness_seconds',
    help: 'Time between a scheduled run falling due and its being accepted',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly scheduledRuns = new Counter({
    name: 'wf_scheduled_runs_total',
    help: 'Due scheduled runs by outcome (emitted, skipped_busy, missed, lost)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'wf_consumer_lag',
    help: 'Messages behind the end of the partition, per topic and partition',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'wf_dead_lettered_total',
    help: 'Messages that went to the dead-letter topic, by topic read and cause (invalid: failed validation; given_up: handling failed on every delivery)',
    labelNames: ['topic', 'cause'] as const,
    registers: [this.registry],
  });

  readonly dependencyOutages = new Counter({
    name: 'wf_dependency_outages_total',
    help: 'Times a dependency (the store) stopped answering, as this process saw it',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  readonly dependencyUp = new Gauge({
    name: 'wf_dependency_up',
    help: '1 while a dependency (the store) answers this process, 0 during an outage',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean; service?: string } = {}) {
    if (options.service) this.registry.setDefaultLabels({ service: options.service });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
