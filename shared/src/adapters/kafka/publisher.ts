import kafkajs, { type Kafka, type Message, type Producer } from 'kafkajs';
import { encodeEvent } from '../../domain/events.js';
import { UnavailableError } from '../../errors.js';
import type { EventPublisher, PublishRecord } from '../../ports/bus.js';
import { EVENT_HEADERS } from './consume-batch.js';
import { toBusError } from './errors.js';

const { Partitioners } = kafkajs;

/**
 * An idempotent producer (acks from all in-sync replicas; the broker drops duplicates of a
 * retried request), connected on first use. Sends are serialised: kafkajs already holds one
 * produce request per broker at a time for an idempotent producer, and it lets a failed
 * producer be replaced safely. A producer whose send failed is discarded, because kafkajs
 * never recovers from some producer-state errors (UNKNOWN_PRODUCER_ID,
 * OUT_OF_ORDER_SEQUENCE_NUMBER after a broker lost its log); the next publish starts a
 * fresh one with a new producer id.
 */
export class KafkaPublisher implements EventPublisher {
  private producer: Promise<Producer> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly retries: number,
  ) {}

  async publish(records: readonly PublishRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Encode (and so validate) everything before sending anything: a bad event is a bug
    // and must not leave half a batch on the broker.
    const byTopic = new Map<string, Message[]>();
    for (const { topic, key, event } of records) {
      const message: Message = {
        key,
        value: encodeEvent(event),
        headers: { [EVENT_HEADERS.type]: event.type, [EVENT_HEADERS.id]: event.id },
      };
      const messages = byTopic.get(topic);
      if (messages) messages.push(message);
      else byTopic.set(topic, [message]);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    await this.send(`publishing ${records.length} event(s) to Kafka failed`, (p) => p.sendBatch({ acks: -1, topicMessages }));
  }

  publishRaw(topic: string, key: string | null, value: string | Buffer, headers: Record<string, string> = {}): Promise<void> {
    return this.send(`publishing to ${topic} failed`, (p) => p.send({ topic, acks: -1, messages: [{ key, value, headers }] }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.serially(() => this.discard());
  }

  private send(what: string, work: (producer: Producer) => Promise<unknown>): Promise<void> {
    return this.serially(async () => {
      if (this.closed) throw new UnavailableError('the Kafka publisher is closed');
      const producer = await this.connected();
      try {
        await work(producer); // resolves once the broker acknowledged (acks = -1)
      } catch (err) {
        await this.discard();
        throw toBusError(err, what);
      }
    });
  }

  private connected(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 5, // the most an idempotent producer may have (the broker tracks the last 5 batches)
        createPartitioner: Partitioners.DefaultPartitioner, // murmur2 by key, like the Java client; explicit to silence kafkajs' v2 notice
        // Bounded (see the log bridge): `publish` must reject rather than retry forever.
        retry: { retries: this.retries },
      });
      this.producer = producer.connect().then(
        () => producer,
        async (err: unknown) => {
          this.producer = undefined;
          await producer.disconnect().catch(() => undefined);
          throw toBusError(err, 'cannot connect to Kafka');
        },
      );
    }
    return this.producer;
  }

  private async discard(): Promise<void> {
    const current = this.producer;
    this.producer = undefined;
    const producer = await current?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
