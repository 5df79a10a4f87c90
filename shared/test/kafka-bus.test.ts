import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import kafkajs, { type Admin } from 'kafkajs';
import { createKafkaBus, DEFAULT_TOPIC_PARTITIONS } from '../src/adapters/kafka/index.js';
import { makeEvent } from '../src/domain/events.js';
import { newId } from '../src/ids.js';
import { openBus } from '../src/adapters/open.js';
import { busSettings, CommonEnvSchema } from '../src/common-config.js';
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
    // kafkajs' crash-and-restart path, which a consumer must survive. Commits on a timer far
    // longer than any test: a member that stops, fails or hands a partition on must commit
    // what it acknowledged there and then, and the contract's "not delivered again" checks it.
    const bus = createKafkaBus({ brokers, clientId: 'bus-contract', logger, tuning: { retries: 2, commitIntervalMs: 60_000 } });
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

describe('kafka bus: topics', { skip: tier.skip }, () => {
  const admin = () => new kafkajs.Kafka({ brokers, clientId: 'bus-topics', logLevel: kafkajs.logLevel.NOTHING }).admin();
  const topicName = (label: string) => `bus-topics.${label}.${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

  /** Has a bus opened from `env`, as a service opens it, create `topics`. */
  async function ensureTopicsFrom(env: Record<string, string>, topics: string[]): Promise<void> {
    const bus = await openBus(busSettings(CommonEnvSchema.parse({ KAFKA_BROKERS: brokers.join(','), ...env })), logger);
    try {
      await bus.ensureTopics(topics);
    } finally {
      await bus.close();
    }
  }

  /** The partition count of each topic; deletes the topics when the test ends. */
  async function partitionsOf(t: TestContext, topics: string[]): Promise<number[]> {
    const client = admin();
    await client.connect();
    t.after(async () => {
      await client.deleteTopics({ topics }).catch(() => undefined);
      await client.disconnect();
    });
    const { topics: metadata } = await client.fetchTopicMetadata({ topics });
    return topics.map((topic) => metadata.find((m) => m.name === topic)?.partitions.length ?? 0);
  }

  it(`creates topics with KAFKA_PARTITIONS partitions, ${DEFAULT_TOPIC_PARTITIONS} when it is not set`, async (t) => {
    const [five, unset] = [topicName('five'), topicName('default')];
    await ensureTopicsFrom({ KAFKA_PARTITIONS: '5' }, [five]);
    await ensureTopicsFrom({}, [unset]);
    assert.deepEqual(await partitionsOf(t, [five, unset]), [5, DEFAULT_TOPIC_PARTITIONS]);
  });

  it('leaves an existing topic with the partitions it has', async (t) => {
    const topic = topicName('existing');
    await ensureTopicsFrom({ KAFKA_PARTITIONS: '2' }, [topic]);
    await ensureTopicsFrom({ KAFKA_PARTITIONS: '6' }, [topic]);
    assert.deepEqual(await partitionsOf(t, [topic]), [2]);
  });
});

describe('kafka bus: consumer groups', { skip: tier.skip }, () => {
  it('deletes a group of its own when its member stops, and leaves a shared group in place', async (t) => {
    const bus = createKafkaBus({ brokers, clientId: 'bus-groups', logger });
    const admin = new kafkajs.Kafka({ brokers, clientId: 'bus-groups-admin', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const topic = `bus-groups.${suffix}`;
    const [own, shared] = [`bus-groups-own-${suffix}`, `bus-groups-shared-${suffix}`];
    t.after(async () => {
      await admin.deleteGroups([shared]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
      await bus.close();
    });
    await bus.ensureTopics([topic]);
    const observer = bus.createConsumer({ groupId: own, deadLetterTopic: null, startFrom: 'latest', deleteGroupOnStop: true });
    const worker = bus.createConsumer({ groupId: shared, deadLetterTopic: null });
    await observer.start([topic], async () => {});
    await worker.start([topic], async () => {});
    const groups = async () => new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    assert.ok((await groups()).has(own), 'the observer joined its group');

    await observer.stop();
    await worker.stop();
    const after = await groups();
    assert.equal(after.has(own), false, 'the observer\'s own group is gone');
    assert.ok(after.has(shared), 'a shared group keeps its offsets for the next member');
  });
});

describe('kafka bus: offset commits', { skip: tier.skip }, () => {
  /** A one-partition topic, a consumer of a group of its own on it, and what the group has committed. */
  async function consumerWithCommits(t: TestContext, commitIntervalMs: number) {
    const bus = createKafkaBus({ brokers, clientId: 'bus-commits', logger, partitions: 1, tuning: { commitIntervalMs } });
    const admin = new kafkajs.Kafka({ brokers, clientId: 'bus-commits-admin', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const [topic, groupId] = [`bus-commits.${suffix}`, `bus-commits-${suffix}`];
    const consumer = bus.createConsumer({ groupId, deadLetterTopic: null });
    t.after(async () => {
      await consumer.stop();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
      await bus.close();
    });
    await bus.ensureTopics([topic]);
    const handled: string[] = [];
    await consumer.start([topic], async (events) => {
      handled.push(...events.map((e) => e.event.id));
    });
    return {
      consumer,
      /** The group's committed offset: how many events it will not be given again (-1: none committed). */
      committed: async () => Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset ?? -1),
      /** Publishes `count` events, each in a produce request of its own, and waits until all are handled. */
      async publishAndAwait(count: number) {
        const events = Array.from({ length: count }, () => makeEvent('ExecutionRequested', { executionId: newId(), workflowId: 'wf-a', ownerId: 'owner-1', attempt: 1 }, newId(), new Date()));
        for (const event of events) await bus.publisher.publish([{ topic, key: 'wf-a', event }]);
        await until('the events to be handled', () => events.every((e) => handled.includes(e.id)));
      },
    };
  }

  async function until(what: string, check: () => boolean | Promise<boolean>, ms = READ_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `${what} took longer than ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('commits nothing it acknowledged before the commit interval has passed, then all of it on stop', async (t) => {
    const { consumer, committed, publishAndAwait } = await consumerWithCommits(t, 60_000);
    await publishAndAwait(6); // six batches of one, as far as the consumer can tell
    assert.equal(await committed(), -1, 'no commit per batch');
    await consumer.stop();
    assert.equal(await committed(), 6, 'the stop committed every acknowledged event');
  });

  it('commits an idle member\'s last acknowledgements within the interval, on its timer', async (t) => {
    const { committed, publishAndAwait } = await consumerWithCommits(t, 500);
    await publishAndAwait(3);
    await until('the idle member to commit', async () => (await committed()) === 3, 500 + READ_TIMEOUT_MS);
  });
});

describe('kafka bus: offset commits on a rebalance', { skip: tier.skip }, () => {
  it('an idle member commits what it acknowledged before its partitions move: the joining member gets none of it again', async (t) => {
    // No timer to hide behind: the commit before the rejoin is the only one there is.
    const bus = createKafkaBus({ brokers, clientId: 'bus-rebalance', logger, partitions: 2, tuning: { commitIntervalMs: 60_000 } });
    const admin = new kafkajs.Kafka({ brokers, clientId: 'bus-rebalance-admin', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const [topic, groupId] = [`bus-rebalance.${suffix}`, `bus-rebalance-${suffix}`];
    const first = bus.createConsumer({ groupId, deadLetterTopic: null });
    const second = bus.createConsumer({ groupId, deadLetterTopic: null });
    t.after(async () => {
      await Promise.allSettled([first.stop(), second.stop()]);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
      await bus.close();
    });
    await bus.ensureTopics([topic]);
    const seen = { first: [] as string[], second: [] as string[] };
    await first.start([topic], async (events) => {
      seen.first.push(...events.map((e) => e.event.id));
    });
    // Many keys: both partitions get some.
    const events = Array.from({ length: 20 }, (_, i) => makeEvent('ExecutionRequested', { executionId: newId(), workflowId: `wf-${i}`, ownerId: 'owner-1', attempt: 1 }, newId(), new Date()));
    await bus.publisher.publish(events.map((event) => ({ topic, key: event.data.workflowId, event })));
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (seen.first.length < events.length) {
      assert.ok(Date.now() < deadline, 'the first member handled every event');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const membersOf = async () => (await admin.describeGroups([groupId])).groups[0]?.members.length ?? 0;
    await second.start([topic], async (events) => {
      seen.second.push(...events.map((e) => e.event.id));
    });
    while ((await membersOf()) < 2) {
      assert.ok(Date.now() < deadline, 'the group has both members');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A marker on each partition after the rebalance: once each member has had what it owns, nothing older can still come.
    const markers = ['wf-0', 'wf-1', 'wf-2', 'wf-3', 'wf-4', 'wf-5'].map((workflowId) => makeEvent('ExecutionRequested', { executionId: newId(), workflowId, ownerId: 'owner-1', attempt: 1 }, newId(), new Date()));
    await bus.publisher.publish(markers.map((event) => ({ topic, key: event.data.workflowId, event })));
    const handledMarkers = () => markers.filter((m) => seen.first.includes(m.id) || seen.second.includes(m.id)).length;
    while (handledMarkers() < markers.length) {
      assert.ok(Date.now() < deadline, 'the markers were handled');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const before = new Set(events.map((e) => e.id));
    assert.ok(markers.some((m) => seen.second.includes(m.id)), 'the second member owns a partition');
    assert.deepEqual(seen.second.filter((id) => before.has(id)), [], 'nothing the first member acknowledged came to the second');
  });
});

/**
 * The topic's offsets, once every partition has a leader. A topic created moments ago (a
 * dead-letter topic nobody has written to) may still be electing one, and the broker then
 * answers NOT_LEADER_OR_FOLLOWER or LEADER_NOT_AVAILABLE: both retriable, so ask again.
 */
async function offsetsOnceLed(admin: Admin, topic: string): ReturnType<Admin['fetchTopicOffsets']> {
  const deadline = Date.now() + READ_TIMEOUT_MS;
  for (;;) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      const retriable = error instanceof kafkajs.KafkaJSProtocolError && error.retriable;
      if (!retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

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
    for (const { partition, high, low } of await offsetsOnceLed(admin, topic)) {
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
