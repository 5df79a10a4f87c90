import { UnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { BatchHandler, ConsumerOptions, EventConsumer, EventPublisher } from '../../ports/bus.js';
import { BatchStepError, consumeBatch, DEFAULT_MAX_BATCH_SIZE } from '../kafka/consume-batch.js';
import type { Claim, ConsumerGroup, InProcessBroker, Member } from './broker.js';

/** Messages taken from a partition per claim (Kafka's max.poll.records); handed on in chunks of maxBatchSize. */
const FETCH_MAX = 500;

/** How often a paused member looks again whether it was resumed (`resume()` also wakes it at once). */
const PAUSED_POLL_MS = 1_000;

/** Backoff before a failed delivery is tried again: doubling from the first to the last, per partition. */
export const REDELIVERY_BACKOFF_MS = { first: 100, max: 5_000 } as const;

export const redeliveryDelay = (failures: number): number =>
  Math.min(REDELIVERY_BACKOFF_MS.max, REDELIVERY_BACKOFF_MS.first * 2 ** Math.max(0, failures - 1));

/**
 * One member of an in-process consumer group: loops that each claim a partition, run a batch,
 * release it; as many loops as partitions it may handle at once (a partition is claimed by one
 * loop at a time, so its events stay in order).
 */
export class InProcessConsumer implements EventConsumer {
  private readonly group: ConsumerGroup;
  private readonly maxBatchSize: number;
  private readonly logger: Logger;
  private member: Member | undefined;
  private loops: Promise<void>[] = [];
  private stopping = false;
  private paused = false;

  constructor(
    private readonly broker: InProcessBroker,
    private readonly publisher: EventPublisher,
    private readonly options: ConsumerOptions,
    logger: Logger,
  ) {
    this.group = broker.group(options.groupId);
    this.maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.logger = logger.child({ groupId: options.groupId });
  }

  async start(topics: readonly string[], handler: BatchHandler): Promise<void> {
    if (this.member || this.stopping) throw new Error(`consumer of group ${this.options.groupId} was already started`);
    const member: Member = { topics: [...new Set(topics)] };
    this.member = member;
    if (this.options.startFrom === 'latest') this.group.startAtEnd(member.topics);
    this.group.join(member);
    // More loops than partitions the member could ever own would only wait.
    const loops = Math.min(this.options.concurrentPartitions ?? 1, this.broker.partitionCount * member.topics.length);
    this.loops = Array.from({ length: Math.max(1, loops) }, () => this.run(member, handler));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.broker.changed(); // wake the loop if it is waiting for work
    await Promise.all(this.loops); // the batches in hand finish first (consumeBatch checks `stopping` between steps)
    if (this.member) this.group.leave(this.member);
    this.member = undefined;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.broker.changed();
  }

  private async run(member: Member, handler: BatchHandler): Promise<void> {
    while (!this.stopping) {
      if (this.paused) {
        await this.broker.nextChange(PAUSED_POLL_MS);
        continue;
      }
      const claim = this.group.claim(member, FETCH_MAX, Date.now());
      if ('waitMs' in claim) await this.broker.nextChange(claim.waitMs);
      else await this.deliver(claim, handler);
    }
  }

  private async deliver({ topic, partition, state, messages, lag }: Claim, handler: BatchHandler): Promise<void> {
    this.options.onLag?.({ topic, partition, messages: lag });
    try {
      await consumeBatch(
        { topic, partition, messages: messages.map((m) => ({ offset: String(m.offset), key: m.key, value: m.value })) },
        {
          handler,
          maxBatchSize: this.maxBatchSize,
          logger: this.logger,
          deadLetter: async (message, headers, cause) => {
            const deadLetterTopic = this.options.deadLetterTopic;
            if (deadLetterTopic === null) return;
            await this.publisher.publishRaw(deadLetterTopic, message.key, message.value ?? '', headers);
            this.options.onDeadLetter?.({ topic, cause });
          },
          acknowledge: async (offset) => {
            state.committed = Number(offset) + 1;
          },
          proceed: async () => !this.stopping,
        },
      );
      state.failures = 0;
    } catch (err) {
      state.failures += 1;
      const retryInMs = redeliveryDelay(state.failures);
      state.retryAt = Date.now() + retryInMs;
      const context = err instanceof BatchStepError ? { err: err.cause, ...err.context } : { err, topic, partition };
      // A store outage is the handler's to report (once); here the batch only waits to come again.
      const level = context.err instanceof UnavailableError ? 'debug' : 'error';
      this.logger[level]({ ...context, failures: state.failures, retryInMs }, err instanceof Error ? err.message : 'consuming a batch failed');
    } finally {
      this.group.release(state);
    }
  }
}
