import type { Clock, EventConsumer, ExecutionRequested, HttpClient, Logger, Metrics, ReceivedEvent, Store, Topics } from '@wf/shared';
import { createActions } from '../actions/index.js';
import type { RunnerConfig } from '../config.js';
import { ExecutionWorker } from './execution-worker.js';

export interface RunnerDeps {
  store: Store;
  consumer: EventConsumer;
  http: HttpClient;
  clock: Clock;
  logger: Logger;
  topics: Topics;
  config: RunnerConfig;
  metrics?: Metrics;
}

export interface Runner {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Consumes `execution.requested` as a member of the runners' consumer group. A batch is
 * acknowledged only once every execution in it has been handled; executions of different
 * workflows run concurrently (bounded), those of one workflow in order.
 */
export function createRunner(deps: RunnerDeps): Runner {
  const worker = new ExecutionWorker({
    store: deps.store,
    actions: createActions({ http: deps.http }),
    clock: deps.clock,
    logger: deps.logger,
    topics: deps.topics,
    config: { leaseMarginMs: deps.config.leaseMarginMs },
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });

  const handleBatch = async (events: readonly ReceivedEvent[]) => {
    const byWorkflow = new Map<string, ExecutionRequested[]>();
    for (const { event } of events) {
      if (event.type !== 'ExecutionRequested') continue;
      const queue = byWorkflow.get(event.data.workflowId) ?? [];
      queue.push(event);
      byWorkflow.set(event.data.workflowId, queue);
    }
    const queues = [...byWorkflow.values()];
    let next = 0;
    const lanes = Array.from({ length: Math.min(deps.config.concurrency, queues.length) }, async () => {
      while (next < queues.length) {
        for (const event of queues[next++]!) await worker.handle(event);
      }
    });
    await Promise.all(lanes);
  };

  return {
    start: () => deps.consumer.start([deps.topics.requested], handleBatch),
    stop: () => deps.consumer.stop(),
  };
}
