import { encodeEvent } from '../../domain/events.js';
import { UnavailableError } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Bus, ConsumerOptions, EventConsumer, EventPublisher, PublishRecord } from '../../ports/bus.js';
import { EVENT_HEADERS } from '../kafka/consume-batch.js';
import { InProcessBroker, type StoredMessage, type TopicRecord } from './broker.js';
import { InProcessConsumer } from './consumer.js';

export interface InProcessBusOptions {
  logger?: Logger;
  /** Partitions per topic. Default 3. */
  partitions?: number;
  /** Messages kept per partition once every group has read them (Kafka's retention). Default 10,000. */
  retainPerPartition?: number;
}

export interface InProcessBus extends Bus {
  readonly kind: 'in-process';
  /** Every message still retained on a topic, by partition then offset, as stored (for tests and debugging). */
  records(topic: string): TopicRecord[];
}

/**
 * A bus inside this process, with Kafka's semantics where the rest of the system can tell:
 * per-key ordering, consumer groups that split partitions, at-least-once delivery with
 * redelivery after a failure, dead-lettering of invalid messages. Messages live in memory
 * only; that is what the embedded mode and unit tests need.
 */
export function createInProcessBus(options: InProcessBusOptions = {}): InProcessBus {
  const logger = (options.logger ?? silentLogger).child({ component: 'in-process-bus' });
  const broker = new InProcessBroker(options.partitions ?? 3, options.retainPerPartition ?? 10_000);
  const consumers = new Set<EventConsumer>();
  let closed = false;

  const append = (topic: string, message: StoredMessage) => {
    if (closed) throw new UnavailableError('the in-process bus is closed');
    broker.append(topic, message);
  };

  const publisher: EventPublisher = {
    async publish(records: readonly PublishRecord[]) {
      // Encode (and so validate) everything first: a bad event must not leave half a batch behind.
      const messages = records.map(({ topic, key, event }) => ({
        topic,
        message: { key, value: encodeEvent(event), headers: { [EVENT_HEADERS.type]: event.type, [EVENT_HEADERS.id]: event.id } },
      }));
      for (const { topic, message } of messages) append(topic, message);
    },
    async publishRaw(topic, key, value, headers = {}) {
      append(topic, { key, value: typeof value === 'string' ? value : Buffer.from(value), headers: { ...headers } });
    },
    async close() {
      closed = true;
    },
  };

  return {
    kind: 'in-process',
    publisher,
    createConsumer(consumerOptions: ConsumerOptions): EventConsumer {
      const consumer = new InProcessConsumer(broker, publisher, consumerOptions, logger);
      consumers.add(consumer);
      return {
        start: (topics, handler) => consumer.start(topics, handler),
        pause: () => consumer.pause(),
        resume: () => consumer.resume(),
        stop: async () => {
          consumers.delete(consumer);
          await consumer.stop();
        },
      };
    },
    async ensureTopics(topics) {
      for (const topic of topics) broker.partitions(topic);
    },
    async ping() {
      if (closed) throw new UnavailableError('the in-process bus is closed');
    },
    async close() {
      await Promise.all([...consumers].map((c) => c.stop()));
      consumers.clear();
      await publisher.close();
    },
    records: (topic) => broker.records(topic),
  };
}
