import cron, { type ScheduledTask } from 'node-cron';
import type { Clock, EventPublisher, Logger, Metrics, Store, Topics } from '@wf/shared';
import { tickToCron, type SchedulerConfig } from './config.js';
import { OutboxRelay, DEFAULT_RELAY_OPTIONS } from './jobs/outbox-relay.js';
import { PeriodicRuns, type PeriodicRunsReport } from './jobs/periodic-runs.js';
import { DueRetries, ExpiredLeases } from './jobs/requeue.js';

export interface SchedulerDeps {
  store: Store;
  publisher: EventPublisher;
  clock: Clock;
  logger: Logger;
  topics: Topics;
  config: SchedulerConfig;
  metrics?: Metrics;
}

export interface TickReport {
  periodic: PeriodicRunsReport;
  retries: number;
  expiredLeases: number;
}

export interface Scheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One tick of the clock jobs, for tests and for the cron task. */
  tick(): Promise<TickReport>;
  readonly relay: OutboxRelay;
}

/**
 * The clock: on every tick (node-cron) emits due scheduled runs, requeues due retries and
 * runs whose runner died; in between, the outbox relay publishes continuously. A tick that
 * is still running when the next falls due makes that one skip (counted in the log).
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store, clock, logger, topics, config, metrics } = deps;
  const periodic = new PeriodicRuns(
    { store, clock, logger, topics, ...(metrics ? { metrics } : {}) },
    { batchSize: config.batchSize, leaseMs: config.leaseMs, concurrency: config.concurrency },
  );
  const retries = new DueRetries({ store, clock, logger, topics }, { batchSize: config.batchSize });
  const leases = new ExpiredLeases({ store, clock, logger, topics }, { batchSize: config.batchSize });
  const relay = new OutboxRelay(
    { outbox: store.outbox, publisher: deps.publisher, clock, logger: logger.child({ job: 'outbox-relay' }), ...(metrics ? { metrics } : {}) },
    { ...DEFAULT_RELAY_OPTIONS, ...config.outbox },
  );

  let task: ScheduledTask | undefined;
  let inFlight: Promise<TickReport> | undefined;
  let overlaps = 0;

  const tick = async (): Promise<TickReport> => {
    const report: TickReport = {
      periodic: await periodic.runOnce(),
      retries: (await retries.runOnce()).requeued,
      expiredLeases: (await leases.runOnce()).requeued,
    };
    if (report.periodic.emitted + report.retries + report.expiredLeases > 0) relay.notify();
    return report;
  };

  const onTick = () => {
    if (inFlight) {
      overlaps += 1;
      logger.warn({ overlaps }, 'scheduler tick skipped: the previous one is still running');
      return;
    }
    inFlight = tick()
      .then((r) => {
        if (r.periodic.emitted || r.periodic.skippedBusy || r.retries || r.expiredLeases) logger.debug({ report: r }, 'tick');
        return r;
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'scheduler tick failed');
        throw err;
      })
      .finally(() => {
        inFlight = undefined;
      });
    inFlight.catch(() => undefined);
  };

  return {
    relay,
    tick,
    async start() {
      relay.start();
      task = cron.schedule(tickToCron(config.tick), onTick, { name: 'scheduler-tick' });
      logger.info({ tick: config.tick }, 'scheduler started');
    },
    async stop() {
      await task?.stop();
      await task?.destroy();
      await inFlight?.catch(() => undefined);
      await relay.stop();
    },
  };
}
