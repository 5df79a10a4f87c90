import type { Bus, Clock, GroupCommit, HttpClient, Logger, Store, Topics } from '@wf/shared';
import { startOpsServer, type Metrics, type RunningService } from '@wf/shared/ops';
import type { RunnerConfig } from './config.js';
import { createRunner } from './worker/runner.js';

export interface RunnerServiceDeps {
  store: Store;
  /** The store's group commit, for the worker's writes. */
  groupCommit: GroupCommit;
  bus: Bus;
  http: HttpClient;
  clock: Clock;
  logger: Logger;
  topics: Topics;
  config: RunnerConfig;
  metrics: Metrics;
  /** Port of /healthz, /readyz, /metrics; undefined runs without (embedded mode). */
  healthPort?: number;
}

export interface RunnerService extends RunningService {
  readonly healthPort?: number;
}

export async function startRunnerService(deps: RunnerServiceDeps): Promise<RunnerService> {
  const { store, bus, topics, config, logger, metrics } = deps;
  await bus.ensureTopics([topics.requested, topics.result, topics.deadLetter]);
  const consumer = bus.createConsumer({
    groupId: config.groupId,
    deadLetterTopic: topics.deadLetter,
    maxBatchSize: config.batchSize,
    // Every partition it holds at once: the runner's own limit on executions in flight (`concurrency`) applies across them.
    concurrentPartitions: config.concurrency,
    ...(metrics
      ? {
          onLag: ({ topic, partition, messages }) => metrics.consumerLag.set({ topic, partition: String(partition) }, messages),
          onDeadLetter: ({ topic, cause }) => metrics.deadLettered.inc({ topic, cause }),
        }
      : {}),
  });
  const runner = createRunner({ ...deps, consumer });
  await runner.start();
  const ops =
    deps.healthPort === undefined
      ? undefined
      : await startOpsServer(deps.healthPort, { logger, metrics, checks: { store: () => store.ping(), broker: () => bus.ping() } });
  return {
    ...(ops ? { healthPort: ops.port } : {}),
    async stop() {
      ops?.markStopping();
      // The consumer lets the batch in hand finish and commits before leaving the group.
      await runner.stop();
      await ops?.close();
    },
  };
}
