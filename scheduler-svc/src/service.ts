import { DEFAULT_STARTUP_TIMEOUT_MS, type Bus, type Clock, type Logger, type Store, type Topics } from '@wf/shared';
import { prepareDependencies, startOpsServer, StartupGate, type Metrics, type RunningService } from '@wf/shared/ops';
import type { SchedulerConfig } from './config.js';
import { createScheduler, type Scheduler } from './scheduler.js';

export interface SchedulerServiceDeps {
  store: Store;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  topics: Topics;
  config: SchedulerConfig;
  metrics: Metrics;
  /** Port of /healthz, /readyz, /metrics; undefined runs without (embedded mode). */
  healthPort?: number;
  /** How long start-up waits for the store and the broker (`STARTUP_TIMEOUT`). */
  startupTimeoutMs?: number;
}

export interface SchedulerService extends RunningService {
  readonly scheduler: Scheduler;
  readonly healthPort?: number;
}

/**
 * Starts the health server first (alive, not ready), then waits for the store and the broker
 * with backoff, then starts the clock jobs and the relay and turns ready.
 */
export async function startSchedulerService(deps: SchedulerServiceDeps): Promise<SchedulerService> {
  const { store, bus, clock, logger, topics, config, metrics } = deps;
  const startup = new StartupGate();
  const ops =
    deps.healthPort === undefined
      ? undefined
      : await startOpsServer(deps.healthPort, {
          logger,
          metrics,
          checks: { startup: startup.check, store: () => store.ping(), broker: () => bus.ping() },
          beforeScrape: async () => {
            const backlog = await store.outbox.backlog(clock.now());
            metrics.outboxBacklog.set(backlog.count);
            metrics.outboxOldestAge.set(backlog.oldestAgeMs / 1000);
          },
        });
  try {
    await prepareDependencies(
      { store, bus, topics: [topics.requested, topics.result, topics.deadLetter] },
      { logger, gate: startup, deadline: Date.now() + (deps.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS) },
    );
  } catch (err) {
    await ops?.close();
    throw err;
  }
  const scheduler = createScheduler({ store, publisher: bus.publisher, clock, logger, topics, config, metrics });
  await scheduler.start();
  startup.open();
  return {
    scheduler,
    ...(ops ? { healthPort: ops.port } : {}),
    async stop() {
      ops?.markStopping();
      await scheduler.stop();
      await ops?.close();
    },
  };
}
