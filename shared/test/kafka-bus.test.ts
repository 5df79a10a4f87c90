import kafkajs from 'kafkajs';
import { createKafkaBus } from '../src/adapters/kafka/index.js';
import { createLogger, silentLogger } from '../src/logger.js';
import { kafkaTier } from '../src/testing/index.js';
import { describeBusContract, type RawRecord } from './bus-contract.js';

const tier = kafkaTier();
const brokers = (tier.url ?? '').split(',').filter(Boolean);
const logger = process.env.LOG_LEVEL ? createLogger({ level: process.env.LOG_LEVEL, service: 'test' }) : silentLogger;
const READ_TIMEOUT_MS = 15_000;

describeBusContract(
  'kafka',
  async () => {
    // Default timings, but a small retry budget: the repeated-failure test then goes through
    // kafkajs' crash-and-restart path, which a consumer must survive.
    const bus = createKafkaBus({ brokers, clientId: 'bus-contract', logger, tuning: { retries: 2 } });
    return { bus, readRaw, close: () => bus.close() };
  },
  {
    skip: tier.skip,
    openUnreachable: () =>
      createKafkaBus({
        brokers: ['127.0.0.1:1'],
        clientId: 'bus-contract-unreachable',
        logger,
        tuning: { retries: 1, initialRetryTimeMs: 100, connectionTimeoutMs: 500, pingTimeoutMs: 1_000 },
      }),
    unreachableWithinMs: 3_000,
  },
);

/**
 * Reads a topic up to its current end with a throwaway consumer group: kafkajs has no
 * group-less reader, and the bus under test must not be the one that reads.
 */
async function readRaw(topic: string): Promise<RawRecord[]> {
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'bus-contract-reader', logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>(); // partition -> offset after its last message
  try {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (Number(high) > Number(low)) ends.set(partition, Number(high));
    }
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return [];

  const records: RawRecord[] = [];
  const caughtUp = () => [...ends].every(([p, end]) => records.some((r) => r.partition === p && r.offset === end - 1));
  const consumer = kafka.consumer({ groupId: `bus-contract-reader-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 100 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (offset >= (ends.get(partition) ?? 0)) return; // arrived after the call
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        records.push({ partition, offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
        if (caughtUp()) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`reading ${topic} took longer than ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
