import cron, { type ScheduledTask } from 'node-cron';
import type { Clock, EventPublisher, Logger, Store, Topics } from '@wf/shared';
import { Availability, type Metrics } from '@wf/shared/ops';
import { tickToCron, type SchedulerConfig } from './config.js';
import { DEFAULT_EXECUTION_RETENTION_MS, DEFAULT_EXECUTION_RETENTION_OPTIONS, ExecutionRetention } from './jobs/execution-retention.js';
import { IdempotencyPurge } from './jobs/idempotency-purge.js';
import { OutboxRelay, DEFAULT_RELAY_OPTIONS } from './jobs/outbox-relay.js';
import { PeriodicRuns, type PeriodicRunsReport } from './jobs/periodic-runs.js';
import { DueRetries, DueWaits, ExpiredLeases, LostRequests } from './jobs/requeue.js';

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
  lostRequests: number;
}

export interface Scheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One tick of the clock jobs, for tests and for the cron task. */
  tick(): Promise<TickReport>;
  readonly relay: OutboxRelay;
}

/** The due-run loop never sleeps less than this (so runs falling due together share a pass)… */
const MIN_WAKE_MS = 20;
/** …nor more than this: a workflow created elsewhere with an early first run waits at most this long. */
const MAX_SLEEP_MS = 1_000;

/**
 * The clock. Due scheduled runs are emitted by a loop that sleeps until the earliest
 * `nextRunAt` in the store (at least MIN_WAKE_MS, at most MAX_SLEEP_MS), so a run is
 * accepted within milliseconds of its due time rather than on the next tick. The node-cron
 * tick requeues due retries, runs whose delay is over, runs whose runner died and runs whose request was lost, purges
 * expired idempotency keys (at most once a minute), and wakes that loop too. The outbox
 * relay publishes continuously in between. The tick also deletes finished runs past their
 * retention (at most once a minute, in small batches). A tick that is still running when the next
 * falls due makes that one skip (counted in the log).
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store, clock, logger, topics, config, metrics } = deps;
  // Shared by the three loops: one log line per store outage, however many loops meet it.
  const availability = new Availability({ dependency: 'store', logger, ...(metrics ? { metrics } : {}) });
  const periodic = new PeriodicRuns(
    { store, logger, topics, ...(metrics ? { metrics } : {}) },
    { batchSize: config.batchSize, leaseMs: config.leaseMs, concurrency: config.concurrency },
  );
  const retries = new DueRetries({ store, clock, logger, topics }, { batchSize: config.batchSize });
  const waits = new DueWaits({ store, clock, logger, topics, ...(metrics ? { metrics } : {}) }, { batchSize: config.batchSize });
  const leases = new ExpiredLeases({ store, clock, logger, topics }, { batchSize: config.batchSize });
  const expiredKeys = new IdempotencyPurge({ idempotency: store.idempotency, clock, logger });
  const history = new ExecutionRetention(
    { executions: store.executions, workflows: store.workflows, clock, logger },
    { retentionMs: DEFAULT_EXECUTION_RETENTION_MS, ...DEFAULT_EXECUTION_RETENTION_OPTIONS, ...config.executions },
  );
  const lostRequests = new LostRequests({ store, clock, logger, topics }, { batchSize: config.batchSize, queuedForMs: config.requeueQueuedAfterMs });
  const relay = new OutboxRelay(
    { outbox: store.outbox, publisher: deps.publisher, clock, logger: logger.child({ job: 'outbox-relay' }), availability, ...(metrics ? { metrics } : {}) },
    { ...DEFAULT_RELAY_OPTIONS, ...config.outbox },
  );

  let task: ScheduledTask | undefined;
  let inFlight: Promise<unknown> | undefined;
  let overlaps = 0;
  let running = false;
  let dueLoop: Promise<void> | undefined;
  const sleeper = new Sleeper();

  const runPeriodic = async (): Promise<PeriodicRunsReport> => {
    const report = await periodic.runOnce();
    if (report.emitted > 0) relay.notify();
    if (report.emitted || report.skippedBusy || report.waiting || report.lost || report.errors) logger.debug({ report }, 'due runs');
    return report;
  };

  const requeue = async () => {
    const report = {
      retries: (await retries.runOnce()).requeued,
      delays: (await waits.runOnce()).requeued,
      expiredLeases: (await leases.runOnce()).requeued,
      lostRequests: (await lostRequests.runOnce()).requeued,
    };
    if (report.lostRequests > 0) {
      logger.warn({ runs: report.lostRequests, queuedForMs: config.requeueQueuedAfterMs }, 'sent again the requests of runs that no runner took: their messages were lost');
    }
    if (report.retries + report.delays + report.expiredLeases + report.lostRequests > 0) {
      relay.notify();
      logger.debug({ report }, 'requeued');
    }
    return report;
  };

  /** Emits what is due, then sleeps until the next due time; while the store is away, backs off. */
  const loopDueRuns = async () => {
    while (running) {
      let delay = MAX_SLEEP_MS;
      try {
        await runPeriodic();
        const next = await store.workflows.nextDueAt(periodic.claimedUpTo ?? (await store.now()));
        availability.succeeded();
        // By the store's clock, as the due times are.
        if (next) delay = Math.min(MAX_SLEEP_MS, Math.max(MIN_WAKE_MS, next.getTime() - (await store.now()).getTime()));
      } catch (err) {
        if (availability.failed(err)) delay = availability.retryDelayMs();
        else logger.error({ err }, 'emitting due runs failed');
      }
      if (running) await sleeper.sleep(delay);
    }
  };

  const onTick = () => {
    sleeper.wake();
    // While the store is away the due-run loop and the relay probe it with backoff; the tick waits for them.
    if (!availability.available) return;
    if (inFlight) {
      overlaps += 1;
      logger.warn({ overlaps }, 'scheduler tick skipped: the previous one is still running');
      return;
    }
    inFlight = requeue()
      .then(() => expiredKeys.runOnce())
      .then(() => history.runOnce())
      .then(
        () => availability.succeeded(),
        (err: unknown) => availability.failed(err) || logger.error({ err }, 'scheduler tick failed'),
      )
      .finally(() => {
        inFlight = undefined;
      });
  };

  return {
    relay,
    async tick() {
      return { periodic: await runPeriodic(), ...(await requeue()) };
    },
    async start() {
      running = true;
      relay.start();
      dueLoop = loopDueRuns();
      task = cron.schedule(tickToCron(config.tick), onTick, { name: 'scheduler-tick' });
      logger.info({ tick: config.tick }, 'scheduler started');
    },
    async stop() {
      running = false;
      sleeper.wake();
      await task?.stop();
      await task?.destroy();
      await dueLoop;
      await inFlight;
      await relay.stop();
    },
  };
}

/** A sleep that `wake()` ends early. */
class Sleeper {
  private wakeUp: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  wake(): void {
    this.wakeUp?.();
  }
}
