import {
  partitionKey,
  UnavailableError,
  type BatchHandler,
  type Clock,
  type EventConsumer,
  type ExecutionRequested,
  type GroupCommit,
  type HandledBatch,
  type HttpClient,
  type Logger,
  type ReceivedEvent,
  type Store,
  type Topics,
} from '@wf/shared';
import { Availability, type Metrics } from '@wf/shared/ops';
import { createActions } from '../actions/index.js';
import type { RunnerConfig } from '../config.js';
import { DeliveryBudget } from './delivery-budget.js';
import { ExecutionWorker } from './execution-worker.js';
import { Permits } from './permits.js';
import { SecretResolver } from './secrets.js';

export interface RunnerDeps {
  store: Store;
  groupCommit: GroupCommit;
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

/** A request as delivered, and its event. */
interface Delivery {
  received: ReceivedEvent;
  event: ExecutionRequested;
}

/**
 * Consumes `execution.requested` as a member of the runners' consumer group. A batch is
 * acknowledged only once every execution in it has been handled; executions of different
 * workflows run concurrently (at most `concurrency` at once, across every partition the
 * consumer hands over at the same time), those of one workflow in order.
 *
 * A request whose handling throws is redelivered, up to `maxDeliveries` failed deliveries;
 * then its run is failed with the reason, its workflow freed, and the message dead-lettered,
 * so that one broken run cannot hold its partition for ever. A store that is unreachable
 * fails every request alike: that is not counted against them.
 *
 * When the store stops answering, the runner cannot record what it would run, so it takes
 * nothing more: the consumer is paused (it stays in the group and keeps its partitions), the
 * batch in hand is left unacknowledged, and the store is probed with backoff. Once it
 * answers, the consumer resumes from the first unacknowledged message.
 */
export function createRunner(deps: RunnerDeps): Runner {
  const { config } = deps;
  const worker = new ExecutionWorker({
    store: deps.store,
    groupCommit: deps.groupCommit,
    actions: createActions({ http: deps.http }),
    secrets: new SecretResolver(deps.store, config.secrets),
    clock: deps.clock,
    logger: deps.logger,
    topics: deps.topics,
    config: { leaseMarginMs: config.leaseMarginMs },
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const permits = new Permits(config.concurrency);
  const budget = new DeliveryBudget(config.maxDeliveries);
  const availability = new Availability({ dependency: 'store', logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}) });
  const stopping = new AbortController();
  let resuming: Promise<void> | undefined;

  const pauseUntilTheStoreAnswers = () => {
    if (resuming) return;
    deps.consumer.pause();
    resuming = availability.waitUntilAvailable(() => deps.store.ping(), stopping.signal).then((answered) => {
      resuming = undefined;
      if (answered) deps.consumer.resume();
    });
  };

  /** Handles one request; resolves with a reason when it was given up on, rejects to have it redelivered. */
  const deliver = async (event: ExecutionRequested): Promise<string | undefined> => {
    const { executionId, attempt } = event.data;
    const gaveUp = budget.gaveUp(executionId, attempt);
    if (gaveUp) return gaveUp;
    try {
      await worker.handle(event);
      budget.handled(executionId, attempt);
      return undefined;
    } catch (err) {
      if (err instanceof UnavailableError || !budget.spent(executionId, attempt)) throw err;
      const reason = `handling the request failed on ${budget.maxDeliveries} deliveries; last error: ${err instanceof Error ? err.message : String(err)}`;
      // If even this cannot be written, the request is redelivered: dead-lettering it
      // without failing its run would leave the run and its workflow stuck without a trace.
      await worker.giveUp(event, reason);
      budget.giveUp(executionId, attempt, reason);
      return reason;
    }
  };

  const handleBatch: BatchHandler = async (events) => {
    const lanes = new Map<string, Delivery[]>();
    for (const received of events) {
      const { event } = received;
      if (event.type !== 'ExecutionRequested') continue;
      const key = partitionKey(event.data.ownerId, event.data.workflowId);
      const lane = lanes.get(key) ?? [];
      lane.push({ received, event });
      lanes.set(key, lane);
    }
    const deadLetters: HandledBatch['deadLetters'][number][] = [];
    // A lane stops at its first failure: the requests after it would otherwise run out of order.
    const outcomes = await Promise.allSettled(
      [...lanes.values()].map((lane) =>
        permits.run(async () => {
          for (const { received, event } of lane) {
            const reason = await deliver(event);
            if (reason) deadLetters.push({ event: received, reason });
          }
        }),
      ),
    );
    // Every lane has settled, so a redelivery never overlaps a handling still in progress.
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    if (failures.length > 0) {
      if (failures.some((err) => availability.failed(err))) pauseUntilTheStoreAnswers();
      throw failures[0];
    }
    availability.succeeded();
    return { deadLetters };
  };

  return {
    start: () => deps.consumer.start([deps.topics.requested], handleBatch),
    async stop() {
      stopping.abort();
      await resuming;
      await deps.consumer.stop();
    },
  };
}
