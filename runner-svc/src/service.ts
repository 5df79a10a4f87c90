import { DEFAULT_STARTUP_TIMEOUT_MS, type Bus, type Clock, type GroupCommit, type HttpClient, type Logger, type Store, type Topics } from '@wf/shared';
import { prepareDependencies, startOpsServer, StartupGate, waitUntilReachable, type Metrics, type RunningService } from '@wf/shared/ops';
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
  /** How long start-up waits for the store and the broker (`STARTUP_TIMEOUT`). */
  startupTimeoutMs?: number;
}

export interface RunnerService extends RunningService {
  readonly healthPort?: number;
}

/**
 * Starts the health server first (alive, not ready), then waits for the store and the broker
 * with backoff, joins the consumer group and turns ready.
 */
export async function startRunnerService(deps: RunnerServiceDeps): Promise<RunnerService> {
  const { store, bus, topics, config, logger, metrics } = deps;
  const startup = new StartupGate();
  const ops =
    deps.healthPort === undefined
      ? undefined
      : await startOpsServer(deps.healthPort, { logger, metrics, checks: { startup: startup.check, store: () => store.ping(), broker: () => bus.ping() } });
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
  try {
    const waiting = { logger, gate: startup, deadline: Date.now() + (deps.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS) };
    await prepareDependencies({ store, bus, topics: [topics.requested, topics.result, topics.deadLetter] }, waiting);
    await waitUntilReachable('the broker (joining the consumer group)', () => runner.start(), waiting);
  } catch (err) {
    await ops?.close();
    throw err;
  }
  startup.open();
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
