import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { makeEvent, silentLogger, type EventPublisher, type OutboxMessage, type PublishRecord } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { FakeClock } from '@wf/shared/testing';
import { DEFAULT_RELAY_OPTIONS, OutboxRelay } from '../src/index.js';

function message(i: number, at: Date): OutboxMessage {
  const event = makeEvent('ExecutionRequested', { executionId: `e${i}`, workflowId: `w${i % 3}`, ownerId: 'o', attempt: 1 }, `ev${i}`, at);
  return { id: `m${i}`, topic: 'execution.requested', key: `w${i % 3}`, event, createdAt: new Date(at.getTime() + i), attempts: 0 };
}

/** A publisher that fails its first `failures` calls, then records what it published. */
function flakyPublisher(failures: number) {
  const published: PublishRecord[] = [];
  let calls = 0;
  const publisher: EventPublisher = {
    publish: mock.fn(async (records: readonly PublishRecord[]) => {
      calls += 1;
      if (calls <= failures) throw new Error('broker down');
      published.push(...records);
    }),
    publishRaw: mock.fn(async () => {}),
    close: mock.fn(async () => {}),
  };
  return { publisher, published };
}

/** A publisher whose one publish waits until the test ends it (`release`), failing it if given an error. */
function gatedPublisher() {
  const published: PublishRecord[] = [];
  let begin!: () => void;
  let end!: (err?: Error) => void;
  const started = new Promise<void>((resolve) => (begin = resolve));
  const publisher: EventPublisher = {
    publish: async (records) => {
      begin();
      const err = await new Promise<Error | undefined>((resolve) => (end = resolve));
      if (err) throw err;
      published.push(...records);
    },
    publishRaw: async () => {},
    close: async () => {},
  };
  return { publisher, published, started, release: (err?: Error) => end(err) };
}

describe('OutboxRelay', () => {
  it('marks messages published only after the broker acknowledged, and keeps them pending on failure', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    for (let i = 0; i < 5; i++) await store.outbox.add(message(i, clock.now()));
    const { publisher, published } = flakyPublisher(2);
    const relay = new OutboxRelay({ outbox: store.outbox, publisher, clock, logger: silentLogger }, { ...DEFAULT_RELAY_OPTIONS, batchSize: 3 });

    assert.deepEqual(await relay.runOnce(), { published: 0, failed: 3 });
    assert.equal((await store.outbox.backlog(clock.now())).count, 5, 'a failed publish leaves the batch pending');
    assert.deepEqual(await relay.runOnce(), { published: 0, failed: 3 }, 'the failed batch was unlocked and is retried');
    assert.deepEqual(await relay.runOnce(), { published: 3, failed: 0 });
    assert.deepEqual(await relay.runOnce(), { published: 2, failed: 0 });
    assert.deepEqual(await relay.runOnce(), { published: 0, failed: 0 });
    assert.deepEqual(published.map((r) => r.event.id), ['ev0', 'ev1', 'ev2', 'ev3', 'ev4'], 'every message once, in creation order');
    assert.equal((await store.outbox.backlog(clock.now())).count, 0);
  });

  it('records the attempt and the error of a failed publish', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    await store.outbox.add(message(1, clock.now()));
    const { publisher } = flakyPublisher(1);
    const relay = new OutboxRelay({ outbox: store.outbox, publisher, clock, logger: silentLogger });
    assert.deepEqual(await relay.runOnce(), { published: 0, failed: 1 });
    const [pending] = (await store.outbox.claimBatch(0, 10)).messages;
    assert.deepEqual([pending?.id, pending?.attempts, pending?.lastError], ['m1', 1, 'broker down'], 'still pending, with its attempt and error');
  });

  it('a store that fails the pass fails it (not counted as a publish failure)', async () => {
    const outbox = { relay: mock.fn(async () => Promise.reject(new Error('database down'))) };
    const { publisher } = flakyPublisher(0);
    const relay = new OutboxRelay({ outbox: outbox as never, publisher, clock: new FakeClock(), logger: silentLogger });
    await assert.rejects(relay.runOnce(), /database down/);
  });

  it('a relay whose lock expired mid-publish leaves the batch to the relay that claimed it since', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    for (let i = 0; i < 3; i++) await store.outbox.add(message(i, clock.now()));
    const relay = (publisher: EventPublisher) =>
      new OutboxRelay({ outbox: store.outbox, publisher, clock, logger: silentLogger }, { ...DEFAULT_RELAY_OPTIONS, lockMs: 1_000 });

    const slow = gatedPublisher();
    const first = relay(slow.publisher).runOnce();
    await slow.started;
    clock.advance(1_000);
    const fast = gatedPublisher();
    const second = relay(fast.publisher).runOnce();
    await fast.started;

    slow.release(new Error('timed out'));
    assert.deepEqual(await first, { published: 0, failed: 3 });
    const third = flakyPublisher(0);
    assert.deepEqual(await relay(third.publisher).runOnce(), { published: 0, failed: 0 }, 'the first relay’s failure did not unlock the second’s claim');
    fast.release();
    assert.deepEqual(await second, { published: 3, failed: 0 });
    assert.equal((await store.outbox.backlog(clock.now())).count, 0);
    assert.deepEqual(fast.published.map((r) => r.event.id), ['ev0', 'ev1', 'ev2']);
    assert.equal(third.published.length, 0);
  });

  it('drains continuously once started and stops promptly', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    const { publisher, published } = flakyPublisher(0);
    const relay = new OutboxRelay({ outbox: store.outbox, publisher, clock, logger: silentLogger }, { ...DEFAULT_RELAY_OPTIONS, batchSize: 10 });
    relay.start();
    for (let i = 0; i < 25; i++) await store.outbox.add(message(i, clock.now()));
    relay.notify();
    const deadline = Date.now() + 5_000;
    while (published.length < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await relay.stop();
    assert.ok(Date.now() - started < 1_000, 'stop does not wait out an idle sleep');
    assert.equal(published.length, 25);
  });
});
