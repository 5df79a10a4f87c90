import kafkajs, { type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import type { Logger } from '../../logger.js';
import type { BatchHandler, ConsumerOptions, EventConsumer, EventPublisher } from '../../ports/bus.js';
import { UnavailableError } from '../../errors.js';
import { BatchStepError, consumeBatch, DEFAULT_MAX_BATCH_SIZE } from './consume-batch.js';
import { RedeliverError, toBusError } from './errors.js';
import type { KafkaTuning } from './options.js';

const { KafkaJSError } = kafkajs;

/** What a batch hands over for committing offsets; valid beyond the batch, for its consumer group. */
type Committer = Pick<EachBatchPayload, 'commitOffsetsIfNecessary' | 'uncommittedOffsets'>;

/**
 * One member of a consumer group. Offsets are resolved only after the handler (or the
 * dead-letter publish) succeeded; a failure leaves them unresolved, and kafkajs fetches again
 * from the last resolved offset after a backoff (its `retry` settings), then, once the retries
 * are spent, restarts the consumer (rejoining the group).
 *
 * Resolved offsets are committed once per `commitIntervalMs`, not after every partition's
 * batch (kafkajs' auto-commit, which it does even with an interval set), and at once whenever
 * the partitions may move or be read again from the committed offset: on stop, when the group
 * rebalances, when a handler fails. So a stopped, rebalanced or failing member hands its
 * partitions on without anything it acknowledged being delivered again; only a member killed
 * outright leaves its last interval's events to be delivered again, as at-least-once allows.
 */
export class KafkaEventConsumer implements EventConsumer {
  private consumer: Consumer | undefined;
  private topics: readonly string[] = [];
  private paused = false;
  private stopping = false;
  /** From the latest batch: commits for the group this member is in. */
  private committer: Committer | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private readonly maxBatchSize: number;
  private readonly logger: Logger;

  constructor(
    private readonly kafka: Kafka,
    private readonly publisher: EventPublisher,
    private readonly options: ConsumerOptions,
    private readonly tuning: KafkaTuning,
    logger: Logger,
  ) {
    this.maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.logger = logger.child({ groupId: options.groupId });
  }

  async start(topics: readonly string[], handler: BatchHandler): Promise<void> {
    if (this.consumer || this.stopping) throw new Error(`consumer of group ${this.options.groupId} was already started`);
    const { tuning } = this;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      maxWaitTimeInMs: tuning.maxWaitTimeMs,
      retry: {
        retries: tuning.retries,
        initialRetryTime: tuning.initialRetryTimeMs,
        // A member heartbeats once per redelivery attempt: waiting longer than the session
        // between attempts would get it evicted from the group.
        maxRetryTime: Math.min(tuning.maxRetryTimeMs, tuning.sessionTimeoutMs / 2),
        // Restart after retriable failures (kafkajs' default) unless we are stopping: a
        // restart scheduled during stop() would bring a stopped member back.
        restartOnFailure: async () => !this.stopping,
      },
    });
    consumer.on(consumer.events.CRASH, ({ payload: { error, restart } }) => {
      this.committer = undefined; // a restarted consumer is a new member: it reads the committed offsets
      if (!restart && !this.stopping) {
        this.logger.error({ err: error }, 'Kafka consumer crashed with a non-retriable error and will not restart');
      }
    });
    // kafkajs noticed the rebalance itself (an idle member's heartbeat) and is about to rejoin:
    // the commit goes out ahead of the JoinGroup, and the group takes it until the join completes.
    consumer.on(consumer.events.REBALANCING, () => void this.commitNow());
    this.consumer = consumer;
    this.topics = topics;
    try {
      await consumer.connect();
      // A new group starts at the beginning unless it only observes: events published before it first joined are its work too.
      await consumer.subscribe({ topics: [...topics], fromBeginning: this.options.startFrom !== 'latest' });
      if (this.paused) consumer.pause(this.topicPartitions());
      const interval = tuning.commitIntervalMs;
      await consumer.run({
        // kafkajs hands each partition's batch to one of this many workers, and fetches again once all are done.
        partitionsConsumedConcurrently: this.options.concurrentPartitions ?? 1,
        eachBatchAutoResolve: false,
        // This class commits (see above): commitOffsetsIfNecessary() commits what was resolved
        // once the interval has passed since the last commit, or every time with no interval.
        autoCommit: false,
        ...(interval > 0 ? { autoCommitInterval: interval } : { autoCommitThreshold: 1 }),
        eachBatch: (payload) => this.eachBatch(payload, handler),
      });
      // An idle member's last acknowledgements are committed within an interval too.
      if (interval > 0) this.commitTimer = setInterval(() => void this.commitNow(), interval).unref();
    } catch (err) {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw toBusError(err, `consumer of group ${this.options.groupId} could not start`);
    }
    this.logger.info({ topics }, 'Kafka consumer started');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.commitTimer);
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    await this.commitNow();
    // Stops fetching, lets the step in hand finish (eachBatch checks isRunning() between
    // steps; its acknowledgement commits at once while stopping) and leaves the group, so its
    // partitions move at once.
    await consumer.disconnect();
    this.logger.info('Kafka consumer stopped');
  }

  /**
   * kafkajs keeps heartbeating (the member stays in the group, its partitions stay its own) and
   * skips paused partitions when it fetches; on resume it fetches from the last resolved offset.
   */
  pause(): void {
    this.paused = true;
    this.consumer?.pause(this.topicPartitions());
  }

  resume(): void {
    this.paused = false;
    this.consumer?.resume(this.topicPartitions());
  }

  private topicPartitions() {
    return this.topics.map((topic) => ({ topic }));
  }

  private async eachBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale } = payload;
    this.committer = { commitOffsetsIfNecessary, uncommittedOffsets };
    const first = batch.firstOffset();
    this.options.onLag?.({ topic: batch.topic, partition: batch.partition, messages: first === null ? 0 : Number(batch.highWatermark) - Number(first) });
    const messages = batch.messages.map((m) => ({ offset: m.offset, key: m.key?.toString('utf8') ?? null, value: m.value }));
    try {
      await consumeBatch(
        { topic: batch.topic, partition: batch.partition, messages },
        {
          handler,
          maxBatchSize: this.maxBatchSize,
          logger: this.logger,
          deadLetter: async (message, headers, cause) => {
            const topic = this.options.deadLetterTopic;
            if (topic === null) return;
            await this.publisher.publishRaw(topic, message.key, message.value ?? Buffer.alloc(0), headers);
            this.options.onDeadLetter?.({ topic: batch.topic, cause });
          },
          acknowledge: async (offset) => {
            resolveOffset(offset);
            if (this.stopping) await this.commitNow();
            else await commitOffsetsIfNecessary();
          },
          proceed: async () => {
            if (!isRunning() || isStale()) return false;
            await this.heartbeat(heartbeat);
            return true;
          },
        },
      );
      // kafkajs heartbeats after the batch too, but commits nothing first when that finds a rebalance.
      await this.heartbeat(heartbeat);
    } catch (err) {
      // Whatever this batch acknowledged before failing is not to be delivered again, whether
      // kafkajs fetches again from the resolved offset or restarts from the committed one.
      await this.commitNow();
      // A rebalance, a failed commit or heartbeat: kafkajs knows how to recover from its own errors.
      if (err instanceof KafkaJSError) throw err;
      if (err instanceof BatchStepError) {
        // A store outage is the handler's to report (once); here the batch only waits to come again.
        const level = err.cause instanceof UnavailableError ? 'debug' : 'error';
        this.logger[level]({ err: err.cause, ...err.context }, err.message);
      } else {
        this.logger.error({ err, topic: batch.topic, partition: batch.partition }, 'consuming a batch failed; it will be redelivered');
      }
      throw new RedeliverError(err);
    }
  }

  /**
   * A heartbeat (kafkajs sends one only once the heartbeat interval has passed). One that fails
   * (the group is rebalancing, or this member was evicted) commits first what is acknowledged.
   */
  private async heartbeat(beat: () => Promise<void>): Promise<void> {
    try {
      await beat();
    } catch (err) {
      await this.commitNow();
      throw err;
    }
  }

  /** Commits every acknowledged offset not yet committed. Best effort: a failed commit is carried by the next one. */
  private async commitNow(): Promise<void> {
    const committer = this.committer;
    if (!committer) return;
    const offsets = committer.uncommittedOffsets();
    if (offsets.topics.length === 0) return;
    try {
      await committer.commitOffsetsIfNecessary(offsets);
    } catch (err) {
      this.logger.debug({ err }, 'committing offsets failed; the next commit carries them');
    }
  }
}
