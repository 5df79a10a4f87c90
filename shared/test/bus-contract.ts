// The contract every Bus adapter must meet, run against each of them (inprocess-bus.test.ts,
// kafka-bus.test.ts). Every test uses its own topics and groups, so runs against a shared
// broker never see each other's messages, and every wait has a deadline.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { makeEvent, type EventEnvelope } from '../src/domain/events.js';
import { UnavailableError } from '../src/errors.js';
import { newId } from '../src/ids.js';
import type { BatchHandler, Bus, ConsumerOptions, EventConsumer, ReceivedEvent } from '../src/ports/bus.js';
import { DEAD_LETTER_HEADERS, EVENT_HEADERS } from '../src/adapters/kafka/index.js';

/** A message as the broker stores it. */
export interface RawRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

export interface BusHarness {
  bus: Bus;
  /** Every message on `topic` at the time of the call, by partition then offset. */
  readRaw(topic: string): Promise<RawRecord[]>;
  close(): Promise<void>;
}

export interface BusContractOptions {
  /** Skips the whole suite, with the reason shown in the report. */
  skip?: string;
  /** Opens a bus whose broker cannot be reached; leave out where there is no broker to lose. */
  openUnreachable?: () => Bus;
  /** Longest wait for something that should happen (deliveries, rebalances). */
  waitMs?: number;
  /** The longest a publish or ping to an unreachable broker may take to reject. */
  unreachableWithinMs?: number;
}

const POLL_MS = 20;

export function describeBusContract(name: string, open: () => Promise<BusHarness>, options: BusContractOptions = {}): void {
  const waitMs = options.waitMs ?? 20_000;
  const testOptions = { timeout: 4 * waitMs };

  /** Polls `check` until it returns something truthy; fails with `what` at the deadline. */
  async function eventually<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const value = check();
      if (value) return value;
      if (Date.now() > deadline) assert.fail(`timed out after ${waitMs} ms waiting for ${what}`);
      await sleep(POLL_MS);
    }
  }

  async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what} took longer than ${ms} ms` })), ms);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }

  /** One test's bus, topics and consumers; everything is stopped and closed when the test ends. */
  async function setup(t: TestContext) {
    const harness = await open();
    const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const topic = `contract.events.${run}`;
    const deadLetterTopic = `contract.dead-letter.${run}`;
    const started: EventConsumer[] = [];
    t.after(async () => {
      await Promise.allSettled(started.map((c) => c.stop()));
      await harness.close();
    });
    await harness.bus.ensureTopics([topic, deadLetterTopic]);

    let groups = 0;
    const consume = async (groupId: string, handler: BatchHandler, overrides: Partial<ConsumerOptions> = {}): Promise<EventConsumer> => {
      const consumer = harness.bus.createConsumer({ groupId, deadLetterTopic, ...overrides });
      started.push(consumer);
      await consumer.start([topic], handler);
      return consumer;
    };
    return {
      bus: harness.bus,
      harness,
      topic,
      deadLetterTopic,
      newGroup: () => `contract.group.${run}.${++groups}`,
      consume,
      publish: (key: string, ...events: EventEnvelope[]) =>
        harness.bus.publisher.publish(events.map((event) => ({ topic, key, event }))),
      /** Checks that the dead-letter topic holds one message: `original`, as published, with `reason` and where it came from. */
      async assertDeadLettered(original: RawRecord, reason: string | RegExp) {
        const deadLetters = await harness.readRaw(deadLetterTopic);
        assert.equal(deadLetters.length, 1, 'exactly one dead letter');
        const [deadLetter] = deadLetters;
        assert.equal(deadLetter?.value, original.value, 'the message as it was published');
        assert.equal(deadLetter?.key, original.key);
        const givenReason = deadLetter?.headers[DEAD_LETTER_HEADERS.reason] ?? '';
        if (typeof reason === 'string') assert.equal(givenReason, reason);
        else assert.match(givenReason, reason);
        assert.equal(deadLetter?.headers[DEAD_LETTER_HEADERS.originalTopic], topic);
        assert.equal(deadLetter?.headers[DEAD_LETTER_HEADERS.originalPartition], String(original.partition));
        assert.equal(deadLetter?.headers[DEAD_LETTER_HEADERS.originalOffset], String(original.offset));
      },
      /**
       * Publishes one more event on key wf-a and checks that a new member of `group` gets that
       * one only: everything before it on the partition was acknowledged (a redelivery would come first).
       */
      async assertOnlyNewEventsFor(group: string) {
        const sentinel = requested('wf-a', 99);
        await harness.bus.publisher.publish([{ topic, key: 'wf-a', event: sentinel }]);
        const afterRestart = new Recorder();
        await consume(group, afterRestart.handler);
        await eventually('the event published after the restart', () => afterRestart.events.length >= 1);
        assert.deepEqual(afterRestart.ids(), [sentinel.id]);
      },
    };
  }

  describe(`Bus contract: ${name}`, { skip: options.skip }, () => {
    it('delivers events published before and after the group started, envelope, key and topic intact', testOptions, async (t) => {
      const { topic, publish, consume, newGroup, harness } = await setup(t);
      const before = requested('wf-a');
      const after = completed('wf-a');
      await publish('wf-a', before);
      const received = new Recorder();
      await consume(newGroup(), received.handler);
      await publish('wf-a', after);

      await eventually('both events', () => received.events.length >= 2);
      assert.deepEqual(received.events, [
        { topic, key: 'wf-a', event: before },
        { topic, key: 'wf-a', event: after },
      ]);
      const stored = await harness.readRaw(topic);
      assert.deepEqual(
        stored.map((r) => [r.headers[EVENT_HEADERS.type], r.headers[EVENT_HEADERS.id]]),
        [
          ['ExecutionRequested', before.id],
          ['ExecutionCompleted', after.id],
        ],
      );
    });

    it('hands the handler at most maxBatchSize events per call', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const events = Array.from({ length: 7 }, (_, i) => requested('wf-a', i + 1));
      await publish('wf-a', ...events);
      const received = new Recorder();
      await consume(newGroup(), received.handler, { maxBatchSize: 3 });

      await eventually('all 7 events', () => received.events.length >= events.length);
      assert.deepEqual(received.ids(), ids(events));
      assert.ok(received.batches.length >= 3, `7 events in batches of at most 3 take at least 3 calls, got ${received.batches.length}`);
      for (const batch of received.batches) assert.ok(batch.length <= 3, `a batch of ${batch.length} events exceeds maxBatchSize 3`);
    });

    it('reports, per batch, how many messages of its partition were not yet consumed', testOptions, async (t) => {
      const { topic, publish, consume, newGroup } = await setup(t);
      const events = Array.from({ length: 5 }, (_, i) => requested('wf-a', i + 1));
      await publish('wf-a', ...events);
      const lags: { topic: string; partition: number; messages: number }[] = [];
      const received = new Recorder();
      await consume(newGroup(), received.handler, { maxBatchSize: 2, onLag: (lag) => lags.push(lag) });

      await eventually('all 5 events', () => received.events.length >= events.length);
      const partitions = new Set(lags.map((l) => l.partition));
      assert.equal(partitions.size, 1, 'one key, one partition');
      assert.ok(lags.every((l) => l.topic === topic && Number.isInteger(l.messages)), JSON.stringify(lags));
      assert.equal(lags[0]?.messages, 5, 'the first batch starts with all 5 unconsumed');
    });

    it("keeps each key's events in the order they were published", testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const keys = ['wf-a', 'wf-b', 'wf-c', 'wf-d'];
      const received = new Recorder();
      await consume(newGroup(), received.handler, { maxBatchSize: 4 });
      for (let round = 1; round <= 5; round++) {
        // Each publish interleaves every key, twice.
        for (const key of keys) await publish(key, requested(key, 2 * round - 1), requested(key, 2 * round));
      }

      await eventually('all 40 events', () => received.events.length >= 40);
      for (const key of keys) {
        const attempts = received.events.filter((e) => e.key === key).map((e) => attemptOf(e.event));
        assert.deepEqual(attempts, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], `order of ${key}`);
      }
    });

    it('redelivers events whose handler failed, and not once they are acknowledged', testOptions, async (t) => {
      const { publish, consume, newGroup, assertOnlyNewEventsFor } = await setup(t);
      const group = newGroup();
      const events = [requested('wf-a', 1), requested('wf-a', 2), requested('wf-a', 3)];
      await publish('wf-a', ...events);

      const failed: string[] = [];
      const acknowledged = new Recorder();
      const first = await consume(group, async (batch) => {
        if (failed.length === 0) {
          failed.push(...batch.map((e) => e.event.id));
          throw new TypeError('the handler failed once'); // even a programmer error must not kill the consumer
        }
        await acknowledged.handler(batch);
      });

      await eventually('the events to be acknowledged after a redelivery', () => acknowledged.events.length >= events.length);
      assert.ok(failed.length > 0, 'the failing call saw events');
      assert.deepEqual(acknowledged.ids(), ids(events), 'every event acknowledged once, in order, including the failed ones');

      // A restarted member of the group starts after the acknowledged events: only the new one arrives.
      await first.stop();
      await assertOnlyNewEventsFor(group);
    });

    it('pauses from inside a failing handler, takes nothing while paused, and resumes from the first unacknowledged event', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const first = [requested('wf-a', 1), requested('wf-a', 2)];
      const meanwhile = [requested('wf-a', 3), requested('wf-b', 1)];
      let storeDown = true;
      let refused = 0;
      const received = new Recorder();
      // What the runner does when its store goes away: pause, and leave the batch unacknowledged.
      const consumer: EventConsumer = await consume(newGroup(), async (batch) => {
        if (storeDown) {
          refused += batch.length;
          consumer.pause();
          throw new UnavailableError('the store is down');
        }
        await received.handler(batch);
      });
      await publish('wf-a', ...first);
      await eventually('the refused delivery', () => refused > 0);
      await sleep(500);
      const refusedBefore = refused;
      await publish('wf-a', meanwhile[0]!);
      await publish('wf-b', meanwhile[1]!);
      await sleep(1_500);
      assert.equal(refused, refusedBefore, 'nothing is delivered while paused');
      assert.equal(received.events.length, 0);

      storeDown = false;
      consumer.resume();
      await eventually('every event after the resume', () => received.events.length >= 4);
      await sleep(300);
      assert.deepEqual([...received.ids()].sort(), ids([...first, ...meanwhile]).sort(), 'each event once, the refused ones included');
      assert.deepEqual(
        received.events.filter((e) => e.key === 'wf-a').map((e) => attemptOf(e.event)),
        [1, 2, 3],
        'in order per key',
      );
    });

    it('keeps redelivering through repeated handler failures, then carries on', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const events = [requested('wf-a', 1), requested('wf-a', 2)];
      await publish('wf-a', ...events);

      const FAILURES = 4; // past the Kafka harness' retry budget, so kafkajs restarts the consumer on the way
      const failedWith: string[] = [];
      const acknowledged = new Recorder();
      await consume(newGroup(), async (batch) => {
        if (failedWith.length < FAILURES) {
          failedWith.push(batch[0]!.event.id);
          throw new Error(`failure ${failedWith.length} of ${FAILURES}`);
        }
        await acknowledged.handler(batch);
      });

      await eventually('the events after the failures', () => acknowledged.events.length >= events.length);
      assert.deepEqual(failedWith, Array(FAILURES).fill(events[0]!.id), 'every attempt redelivered the same first event');
      assert.deepEqual(acknowledged.ids(), ids(events));
      const later = requested('wf-a', 3);
      await publish('wf-a', later);
      await eventually('an event published afterwards', () => acknowledged.events.length >= 3);
      assert.deepEqual(acknowledged.ids(), ids([...events, later]));
    });

    it('dead-letters an event the handler gives up on, with its reason, and acknowledges it with the rest', testOptions, async (t) => {
      const { topic, publish, consume, newGroup, harness, assertDeadLettered, assertOnlyNewEventsFor } = await setup(t);
      const group = newGroup();
      // One key, so all three sit on one partition, the one given up on between the others.
      const [before, doomed, after] = [requested('wf-a', 1), requested('wf-a', 2), requested('wf-a', 3)];
      await publish('wf-a', before, doomed, after);

      const DELIVERIES = 3; // the handler fails twice on `doomed`, then gives up on it
      let deliveries = 0;
      const acknowledged = new Recorder();
      const told: unknown[] = [];
      const first = await consume(
        group,
        async (batch) => {
          const giveUp = batch.find((e) => e.event.id === doomed.id);
          if (giveUp && ++deliveries < DELIVERIES) throw new Error(`handling failed (${deliveries})`);
          await acknowledged.handler(batch.filter((e) => e !== giveUp));
          return { deadLetters: giveUp ? [{ event: giveUp, reason: `gave up after ${deliveries} deliveries` }] : [] };
        },
        { onDeadLetter: (deadLettered) => told.push(deadLettered) },
      );

      await eventually('the other events', () => acknowledged.ids().includes(after.id));
      await first.stop(); // lets the call in hand finish: its dead letter is published and the batch acknowledged
      assert.deepEqual(acknowledged.ids(), ids([before, after]));
      assert.equal(deliveries, DELIVERIES);
      const [original] = (await harness.readRaw(topic)).filter((r) => r.headers[EVENT_HEADERS.id] === doomed.id);
      assert.ok(original);
      await assertDeadLettered(original, 'gave up after 3 deliveries');
      assert.deepEqual(told, [{ topic, cause: 'given_up' }], 'the consumer tells of the dead letter once, with its cause (the metric)');
      await assertOnlyNewEventsFor(group); // acknowledged with the rest
    });

    it('hands a member several partitions at once, each in a call of its own, when asked', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      // Many keys, so that the events spread over several partitions.
      const events = Array.from({ length: 24 }, (_, i) => requested(`wf-${i}`));
      for (const event of events) await publish(event.data.workflowId, event);

      let inFlight = 0;
      let most = 0;
      const received = new Recorder();
      await consume(
        newGroup(),
        async (batch) => {
          most = Math.max(most, ++inFlight);
          // Each call waits (boundedly) for a second one to be in flight: one partition at a time, none ever is.
          const deadline = Date.now() + waitMs / 4;
          while (most < 2 && Date.now() < deadline) await sleep(POLL_MS);
          inFlight -= 1;
          await received.handler(batch);
        },
        { concurrentPartitions: 2 },
      );

      await eventually('all 24 events', () => received.events.length >= events.length);
      assert.deepEqual([...received.ids()].sort(), ids(events).sort());
      assert.equal(most, 2, 'two calls in flight at once, never more');
    });

    const invalidValues = [
      { label: 'a value that is not JSON', value: '{"id": "no closing brace"', reason: /not JSON/ },
      {
        label: 'JSON that fails the event schema',
        value: JSON.stringify({ id: 'e-1', type: 'ExecutionExploded', version: 1, occurredAt: new Date().toISOString(), data: {} }),
        reason: /type/,
      },
    ];
    for (const invalid of invalidValues) {
      it(`dead-letters ${invalid.label}, and delivers the valid events around it`, testOptions, async (t) => {
        const { bus, topic, publish, consume, newGroup, harness, assertDeadLettered } = await setup(t);
        const received = new Recorder();
        const told: unknown[] = [];
        await consume(newGroup(), received.handler, { onDeadLetter: (deadLettered) => told.push(deadLettered) });
        // One key, so all three sit on one partition, the invalid message between the valid events.
        const [before, after] = [requested('wf-a', 1), requested('wf-a', 2)];
        await publish('wf-a', before);
        await bus.publisher.publishRaw(topic, 'wf-a', invalid.value);
        await publish('wf-a', after);

        await eventually('the valid events', () => received.events.length >= 2);
        assert.deepEqual(received.ids(), ids([before, after]), 'the handler never sees the invalid message');
        const [original] = (await harness.readRaw(topic)).filter((r) => r.value === invalid.value);
        assert.ok(original, 'the invalid message is on the topic');
        await assertDeadLettered(original, invalid.reason);
        assert.deepEqual(told, [{ topic, cause: 'invalid' }]);
      });
    }

    it('splits the work between the members of a group, each event handled once', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const group = newGroup();
      const one = new Recorder();
      const two = new Recorder();
      await consume(group, one.handler);
      await consume(group, two.handler); // resolves once the group has rebalanced to both members
      // Many keys, so that every partition gets some.
      const events = Array.from({ length: 60 }, (_, i) => requested(`wf-${i}`));
      for (const event of events) await publish(event.data.workflowId, event);

      await eventually('all 60 events', () => one.events.length + two.events.length >= events.length);
      const handled = [...one.ids(), ...two.ids()];
      assert.deepEqual([...handled].sort(), ids(events).sort(), 'every event handled exactly once');
      assert.ok(one.events.length > 0 && two.events.length > 0, `both members work (${one.events.length} + ${two.events.length})`);
    });

    it('hands a partition to a joining member without handling its batch in hand twice', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const group = newGroup();
      const events = Array.from({ length: 6 }, (_, i) => requested('wf-a', i + 1));
      await publish('wf-a', ...events);

      const one = new HoldingRecorder();
      await consume(group, one.handler, { maxBatchSize: 1 });
      await eventually('the first member to hold a batch', () => one.events.length >= 1);
      const two = new Recorder();
      // On Kafka the join completes only once the first member rejoins, after its batch: start it, let it begin, then open the gate.
      const joining = consume(group, two.handler, { maxBatchSize: 1 });
      await sleep(300);
      one.release();
      await joining;

      await eventually('all 6 events', () => one.events.length + two.events.length >= events.length);
      assert.deepEqual([...one.ids(), ...two.ids()].sort(), ids(events).sort(), 'every event handled exactly once');
    });

    it('starts a group that observes from the latest event: nothing published before it joined', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const before = requested('wf-a', 1);
      await publish('wf-a', before);
      const received = new Recorder();
      await consume(newGroup(), received.handler, { startFrom: 'latest' });
      // A Kafka group resolves "latest" on its first fetch, just after it joined: publish until one arrives.
      const later: EventEnvelope[] = [];
      let polls = 0;
      await eventually('an event published after the group joined', () => {
        if (received.events.length > 0) return true;
        if (polls++ % 10 === 0) {
          const event = requested('wf-a', later.length + 2);
          later.push(event);
          void publish('wf-a', event);
        }
        return false;
      });
      assert.ok(!received.ids().includes(before.id), 'the event from before the group joined is not delivered');
      assert.ok(received.ids().every((id) => later.some((e) => e.id === id)));
    });

    it('skips invalid messages without dead-lettering them when the group has no dead-letter topic', testOptions, async (t) => {
      const { bus, topic, deadLetterTopic, publish, consume, newGroup, harness } = await setup(t);
      const received = new Recorder();
      await consume(newGroup(), received.handler, { deadLetterTopic: null });
      const [before, after] = [requested('wf-a', 1), requested('wf-a', 2)];
      await publish('wf-a', before);
      await bus.publisher.publishRaw(topic, 'wf-a', 'not json');
      await publish('wf-a', after);

      await eventually('the valid events', () => received.events.length >= 2);
      assert.deepEqual(received.ids(), ids([before, after]));
      assert.deepEqual(await harness.readRaw(deadLetterTopic), []);
    });

    it('gives every group all the events', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const events = Array.from({ length: 10 }, (_, i) => requested(`wf-${i}`));
      for (const event of events) await publish(event.data.workflowId, event);
      const one = new Recorder();
      const two = new Recorder();
      await consume(newGroup(), one.handler);
      await consume(newGroup(), two.handler);

      await eventually('all events in both groups', () => one.events.length >= 10 && two.events.length >= 10);
      assert.deepEqual([...one.ids()].sort(), ids(events).sort());
      assert.deepEqual([...two.ids()].sort(), ids(events).sort());
    });

    it('stops while idle, leaving later events to the group', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const group = newGroup();
      const stopped = new Recorder();
      const consumer = await consume(group, stopped.handler);
      await within('stop() of an idle consumer', waitMs / 2, consumer.stop());

      const event = requested('wf-a');
      await publish('wf-a', event);
      const next = new Recorder();
      await consume(group, next.handler);
      await eventually('the event', () => next.events.length >= 1);
      assert.deepEqual(next.ids(), [event.id]);
      assert.equal(stopped.events.length, 0, 'the stopped consumer got nothing');
    });

    it('stops during a handler call by finishing and acknowledging it, and takes nothing more', testOptions, async (t) => {
      const { publish, consume, newGroup } = await setup(t);
      const group = newGroup();
      const [inHand, next] = [requested('wf-a', 1), requested('wf-a', 2)];
      await publish('wf-a', inHand, next);

      const seen = new HoldingRecorder();
      const consumer = await consume(group, seen.handler, { maxBatchSize: 1 });
      await eventually('the handler to be called', () => seen.events.length >= 1);

      let stopped = false;
      const stopping = consumer.stop().then(() => (stopped = true));
      await sleep(200); // long enough for a stop() that does not wait to be seen
      assert.equal(stopped, false, 'stop() waits for the handler call in progress');
      seen.release();
      await within('stop() after the handler returned', waitMs / 2, stopping);
      assert.deepEqual(seen.ids(), [inHand.id], 'nothing more is handed over once stopping');

      const after = new Recorder();
      await consume(group, after.handler);
      await eventually('the event not handled before the stop', () => after.events.length >= 1);
      assert.deepEqual(after.ids(), [next.id], 'the event in hand was acknowledged, the next one was not');
    });

    it('rejects a batch with an invalid event and publishes none of it', testOptions, async (t) => {
      const { topic, publish, consume, newGroup, harness } = await setup(t);
      const broken = { ...requested('wf-a'), type: 'ExecutionExploded' } as unknown as EventEnvelope;
      const rejected = await publish('wf-a', requested('wf-a'), broken).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(rejected instanceof Error, 'publish rejects');
      assert.ok(!(rejected instanceof UnavailableError), 'an invalid event is a bug, not an outage');

      const valid = requested('wf-a');
      await publish('wf-a', valid);
      const received = new Recorder();
      await consume(newGroup(), received.handler);
      await eventually('the valid event', () => received.events.length >= 1);
      assert.deepEqual(received.ids(), [valid.id]);
      assert.equal((await harness.readRaw(topic)).length, 1, 'only the valid event reached the topic');
    });

    it('answers ping() and creates topics idempotently', testOptions, async (t) => {
      const { bus, topic, deadLetterTopic } = await setup(t);
      await bus.ensureTopics([topic, deadLetterTopic, topic]);
      await bus.ping();
    });

    it('rejects publish with UnavailableError once closed', testOptions, async (t) => {
      const { bus, publish } = await setup(t);
      await bus.close();
      await assert.rejects(publish('wf-a', requested('wf-a')), UnavailableError);
    });

    const openUnreachable = options.openUnreachable;
    it(
      'rejects publish and ping with UnavailableError, in bounded time, when the broker is unreachable',
      { ...testOptions, skip: openUnreachable ? false : `${name} has no broker to lose` },
      async (t) => {
        const bus = openUnreachable!();
        t.after(() => bus.close());
        const bound = options.unreachableWithinMs ?? 5_000;
        const event = requested('wf-a');
        for (const [what, attempt] of [
          ['publish', () => bus.publisher.publish([{ topic: 'contract.unreachable', key: 'wf-a', event }])],
          ['publishRaw', () => bus.publisher.publishRaw('contract.unreachable', null, 'x')],
          ['ping', () => bus.ping()],
          ['a second publish', () => bus.publisher.publish([{ topic: 'contract.unreachable', key: 'wf-a', event }])],
        ] as const) {
          const started = Date.now();
          await within(what, bound, assert.rejects(attempt(), UnavailableError, `${what} rejects with UnavailableError`));
          t.diagnostic(`${what} rejected after ${Date.now() - started} ms`);
        }
      },
    );
  });
}

/** Records what a handler was given, call by call. */
class Recorder {
  readonly batches: ReceivedEvent[][] = [];
  readonly handler: BatchHandler = async (batch) => {
    this.batches.push([...batch]);
  };
  get events(): ReceivedEvent[] {
    return this.batches.flat();
  }
  ids(): string[] {
    return this.events.map((e) => e.event.id);
  }
}

/** A recorder whose handler, once it has recorded a batch, holds it until `release()`. */
class HoldingRecorder extends Recorder {
  release: () => void = () => {};
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));
  override readonly handler: BatchHandler = async (batch) => {
    this.batches.push([...batch]);
    await this.released;
  };
}

const ids = (events: readonly EventEnvelope[]) => events.map((e) => e.id);
const attemptOf = (event: EventEnvelope) => event.data.attempt;

const requested = (workflowId: string, attempt = 1) =>
  makeEvent('ExecutionRequested', { executionId: newId(), workflowId, ownerId: 'owner-1', attempt }, newId(), new Date());

const completed = (workflowId: string) =>
  makeEvent(
    'ExecutionCompleted',
    { executionId: newId(), workflowId, ownerId: 'owner-1', attempt: 2, status: 'completed', finishedAt: new Date().toISOString() },
    newId(),
    new Date(),
  );
