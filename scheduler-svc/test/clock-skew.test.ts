import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptRun, DEFAULT_RETRY_POLICY, DEFAULT_TOPICS, makeEvent, silentLogger, type Store, type TriggerSpec } from '@wf/shared';
import { createInProcessBus } from '@wf/shared/inprocess';
import { createMemoryStore } from '@wf/shared/memory';
import { FakeClock } from '@wf/shared/testing';
import { createScheduler, DEFAULT_RELAY_OPTIONS, OutboxRelay } from '../src/index.js';

/*
 * Processes whose clocks disagree with the database's. Leases, locks and due times are judged
 * by the store's clock (`db`, the memory store's own), so a process whose clock is a minute
 * off neither takes what another still holds nor runs a due time twice or skips one.
 */
const MINUTE = 60_000;

async function workflow(store: Store, trigger: TriggerSpec, nextRunAt?: Date) {
  const at = new Date('2026-01-01T00:00:00Z');
  await store.workflows.create({
    workflowId: 'w', ownerId: 'o', name: 'w', enabled: true, trigger: { ...trigger, status: 'idle', ...(nextRunAt ? { nextRunAt } : {}) },
    actions: [{ type: 'log', message: 'x' }], retryPolicy: DEFAULT_RETRY_POLICY, createdAt: at, updatedAt: at, version: 1,
  });
}

/** A scheduler process on `clock`, over `store`: its tick requeues runs whose lease ran out and emits due runs. */
function scheduler(store: Store, clock: FakeClock) {
  return createScheduler({
    store, publisher: createInProcessBus().publisher, clock, logger: silentLogger, topics: DEFAULT_TOPICS,
    config: { tick: '30s', batchSize: 10, concurrency: 1, leaseMs: 10_000, requeueQueuedAfterMs: 300_000, outbox: { batchSize: 10, lockMs: 10_000, retentionMs: 3_600_000 } },
  });
}

describe('a process whose clock is off', () => {
  it('a scheduler running ahead does not take a run from a live runner', async () => {
    const db = new FakeClock('2026-01-01T00:00:00Z');
    const store = createMemoryStore({ clock: db });
    await workflow(store, { type: 'manual' });
    const wf = (await store.workflows.get('o', 'w'))!;
    const e = await store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: db.now() }, DEFAULT_TOPICS, db.now()));
    assert.ok(await store.executions.claimForRun(e.executionId, 1, 30_000), 'a runner takes the run for 30 s');

    const ahead = scheduler(store, new FakeClock(db.now().getTime() + MINUTE));
    assert.equal((await ahead.tick()).expiredLeases, 0, 'its lease has 30 s to go');
    assert.equal((await store.executions.get(e.executionId))?.status, 'running');
    db.advance(30_000);
    assert.equal((await ahead.tick()).expiredLeases, 1, 'and once it has run out, the run is requeued');
  });

  it('a relay running ahead does not take a batch another relay holds', async () => {
    const db = new FakeClock('2026-01-01T00:00:00Z');
    const store = createMemoryStore({ clock: db });
    const event = makeEvent('ExecutionRequested', { executionId: 'e', workflowId: 'w', ownerId: 'o', attempt: 1 }, 'ev', db.now());
    await store.outbox.add({ id: 'm', topic: DEFAULT_TOPICS.requested, key: 'w', event, createdAt: db.now(), attempts: 0 });
    assert.equal((await store.outbox.claimBatch(30_000, 10)).messages.length, 1, 'a relay holds the message for 30 s');

    const bus = createInProcessBus();
    const ahead = new FakeClock(db.now().getTime() + MINUTE);
    const relay = new OutboxRelay({ outbox: store.outbox, publisher: bus.publisher, clock: ahead, logger: silentLogger }, { ...DEFAULT_RELAY_OPTIONS, lockMs: 30_000 });
    assert.deepEqual(await relay.runOnce(), { published: 0, failed: 0 }, 'the lock has 30 s to go');
  });

  it('a scheduler running behind emits a due cron run once, and moves the schedule past it', async () => {
    const db = new FakeClock('2026-01-01T00:15:00.200Z');
    const store = createMemoryStore({ clock: db });
    await workflow(store, { type: 'cron', cron: '*/15 * * * *' }, new Date('2026-01-01T00:15:00Z'));
    const behind = scheduler(store, new FakeClock(db.now().getTime() - MINUTE));
    assert.equal((await behind.tick()).periodic.emitted, 1, 'due by the database\'s clock');
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:30:00.000Z');
    assert.deepEqual((await behind.tick()).periodic, { emitted: 0, skippedBusy: 0, missed: 0, waiting: 0, lost: 0, errors: 0 }, 'and not again');
  });

  it('a scheduler running ahead skips no due time', async () => {
    const db = new FakeClock('2026-01-01T00:00:01Z');
    const store = createMemoryStore({ clock: db });
    await workflow(store, { type: 'periodic', interval: '1s' }, db.now());
    const ahead = scheduler(store, new FakeClock(db.now().getTime() + MINUTE));
    assert.equal((await ahead.tick()).periodic.emitted, 1);
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:00:02.000Z', 'the next second, not a minute on');
  });
});
