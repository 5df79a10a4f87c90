import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { UnavailableError } from '../../errors.js';
import type { Bus, ConsumerOptions, EventConsumer } from '../../ports/bus.js';
import { KafkaEventConsumer } from './consumer.js';
import { toBusError } from './errors.js';
import { KAFKAJS_LOG_LEVEL, pinoLogCreator } from './log-bridge.js';
import { DEFAULT_KAFKA_TUNING, DEFAULT_TOPIC_PARTITIONS, type KafkaBusOptions, type KafkaTuning } from './options.js';
import { KafkaPublisher } from './publisher.js';

/** A bus on a Kafka cluster, through kafkajs. Nothing connects until first used. */
export function createKafkaBus(options: KafkaBusOptions): Bus {
  const tuning: KafkaTuning = { ...DEFAULT_KAFKA_TUNING, ...options.tuning };
  const logger = options.logger.child({ component: 'kafka-bus' });
  const client = (retries: number): Kafka =>
    new kafkajs.Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: tuning.connectionTimeoutMs,
      retry: { retries, initialRetryTime: tuning.initialRetryTimeMs, maxRetryTime: tuning.maxRetryTimeMs },
      logLevel: KAFKAJS_LOG_LEVEL,
      logCreator: pinoLogCreator(options.logger),
    });
  const kafka = client(tuning.retries);
  // A probe fails fast instead of riding out the retry budget; ping() has its own deadline.
  const probe = client(0);

  const publisher = new KafkaPublisher(kafka, tuning.retries);
  const admin = new LazyAdmin(kafka);
  const probeAdmin = new LazyAdmin(probe);
  const consumers = new Set<EventConsumer>();
  /** Best effort: a group left behind costs the broker a little metadata until it expires. */
  const deleteGroup = async (groupId: string): Promise<void> => {
    try {
      await (await admin.connected()).deleteGroups([groupId]);
    } catch (err) {
      logger.warn({ err, groupId }, 'could not delete the consumer group; the broker expires it after offsets.retention.minutes');
    }
  };
  const partitions = options.partitions ?? DEFAULT_TOPIC_PARTITIONS;
  const replicationFactor = options.replicationFactor ?? 1;

  return {
    kind: 'kafka',
    publisher,

    createConsumer(consumerOptions: ConsumerOptions): EventConsumer {
      const consumer = new KafkaEventConsumer(kafka, publisher, consumerOptions, tuning, logger);
      let started = false;
      const member: EventConsumer = {
        start: async (topics, handler) => {
          await consumer.start(topics, handler);
          started = true;
        },
        pause: () => consumer.pause(),
        resume: () => consumer.resume(),
        stop: async () => {
          consumers.delete(member);
          await consumer.stop();
          if (started && consumerOptions.deleteGroupOnStop) await deleteGroup(consumerOptions.groupId);
        },
      };
      consumers.add(member);
      return member;
    },

    async ensureTopics(topics) {
      try {
        const a = await admin.connected();
        const existing = new Set(await a.listTopics());
        const missing = [...new Set(topics)].filter((t) => !existing.has(t));
        if (missing.length === 0) return;
        // Resolves false (no error) when another instance created one of them in the meantime.
        await a.createTopics({
          topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })),
          waitForLeaders: false,
        });
        await waitForLeaders(a, missing, tuning.topicLeadersTimeoutMs);
        logger.info({ topics: missing, partitions, replicationFactor }, 'created Kafka topics');
      } catch (err) {
        throw toBusError(err, 'creating Kafka topics failed');
      }
    },

    async ping() {
      try {
        await withDeadline(
          probeAdmin.connected().then((a) => a.describeCluster()),
          tuning.pingTimeoutMs,
          `no answer from Kafka (${options.brokers.join(',')}) within ${tuning.pingTimeoutMs} ms`,
        );
      } catch (err) {
        void probeAdmin.close(); // the next ping starts from a fresh connection
        throw err instanceof UnavailableError ? err : new UnavailableError(`Kafka is unreachable: ${(err as Error).message}`, err);
      }
    },

    async close() {
      // Consumers first: a batch in hand may still dead-letter through the publisher.
      await Promise.all([...consumers].map((c) => c.stop()));
      consumers.clear();
      await Promise.all([publisher.close(), admin.close(), probeAdmin.close()]);
    },
  };
}

/** An admin client connected on first use, and again after `close()`. */
class LazyAdmin {
  private admin: Promise<Admin> | undefined;
  constructor(private readonly kafka: Kafka) {}

  connected(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(
        () => admin,
        async (err: unknown) => {
          this.admin = undefined;
          await admin.disconnect().catch(() => undefined);
          throw err;
        },
      );
    }
    return this.admin;
  }

  async close(): Promise<void> {
    const current = this.admin;
    this.admin = undefined;
    const admin = await current?.catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  }
}

/** What a broker answers about a topic it created a moment ago, before its partitions are all ready. */
const NOT_READY_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Waits until every partition of `topics` has a leader. kafkajs' own wait (createTopics'
 * `waitForLeaders`) gives up at the first UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker
 * answers for a few hundred milliseconds after creating a topic of many partitions.
 */
async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (!NOT_READY_YET.has((err as { type?: string }).type ?? '')) throw err;
    }
    if (Date.now() >= deadline) throw new UnavailableError(`the partitions of ${topics.join(', ')} had no leader ${timeoutMs} ms after their creation`);
    await sleep(100);
  }
}

function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(message)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
