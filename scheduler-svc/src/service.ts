import type { Bus, Clock, Logger, Store, Topics } from '@wf/shared';
import { startOpsServer, type Metrics, type RunningService } from '@wf/shared/ops';
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
}

export interface SchedulerService extends RunningService {
  readonly scheduler: Scheduler;
  readonly healthPort?: number;
}

export async function startSchedulerService(deps: SchedulerServiceDeps): Promise<SchedulerService> {
  const { store, bus, clock, logger, topics, config, metrics } = deps;
  await bus.ensureTopics([topics.requested, topics.result, topics.deadLetter]);
  const scheduler = createScheduler({ store, publisher: bus.publisher, clock, logger, topics, config, metrics });
  await scheduler.start();
  const ops =
    deps.healthPort === undefined
      ? undefined
      : await startOpsServer(deps.healthPort, {
          logger,
          metrics,
          checks: { store: () => store.ping(), broker: () => bus.ping() },
          beforeScrape: async () => {
            const backlog = await store.outbox.backlog(clock.now());
            metrics.outboxBacklog.set(backlog.count);
            metrics.outboxOldestAge.set(backlog.oldestAgeMs / 1000);
          },
        });
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
