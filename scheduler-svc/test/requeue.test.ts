import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptRun, DEFAULT_TOPICS, partitionKey, silentLogger, type Store } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { aWorkflow, FakeClock } from '@wf/shared/testing';
import { DueRetries, DueWaits, ExpiredLeases, LostRequests, REQUEUE_PER_TRANSACTION } from '../src/index.js';
import { Metrics } from '@wf/shared/ops';

/** Publishes every message the outbox holds, as the relay would. */
async function relay(store: Store, clock: FakeClock) {
  const { lockToken, messages } = await store.outbox.claimBatch(1_000, 100);
  await store.outbox.markPublished(lockToken, messages.map((m) => m.id), clock.now());
  return messages;
}

/** Accepts a run of a new workflow `workflowId` in `store`, its message already published. */
async function acceptedRun(store: Store, clock: FakeClock, workflowId = 'w') {
  const now = clock.now();
  const wf = aWorkflow({ workflowId, ownerId: 'o', retryPolicy: { maxRetries: 2, baseDelayMs: 1_000, maxDelayMs: 5_000 }, createdAt: now, updatedAt: now });
  await store.workflows.create(wf);
  const execution = await store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: now }, DEFAULT_TOPICS, now));
  await relay(store, clock);
  return execution;
}

/** A fake clock, a memory store holding one accepted run, and a job's dependencies on them. */
async function oneAcceptedRun() {
  const clock = new FakeClock();
  const store = createMemoryStore({ clock });
  const execution = await acceptedRun(store, clock);
  return { clock, store, execution, deps: { store, clock, logger: silentLogger, topics: DEFAULT_TOPICS } };
}

describe('DueWaits', () => {
  it('queues a run waiting at a delay again once its time has come, on the same attempt, its request in the outbox, its lateness measured', async () => {
    const { clock, store, execution: e } = await oneAcceptedRun();
    const metrics = new Metrics({ defaultMetrics: false });
    await store.executions.claimForRun(e.executionId, 1, 10_000);
    const resumeAt = new Date(clock.now().getTime() + 2_000);
    await store.executions.finishAttempt(e.executionId, 1, { status: 'waiting', at: clock.now(), retriesLeft: 2, nextAttemptAt: resumeAt });
    const job = new DueWaits({ store, clock, logger: silentLogger, topics: DEFAULT_TOPICS, metrics }, { batchSize: 10 });
    assert.equal((await job.runOnce()).requeued, 0, 'not yet');
    clock.set(new Date(resumeAt.getTime() + 250));
    assert.equal((await job.runOnce()).requeued, 1);
    const read = await store.executions.get(e.executionId);
    assert.deepEqual([read?.status, read?.attempt], ['queued', 1]);
    const [message] = await relay(store, clock);
    assert.deepEqual([message?.event.type, message?.event.data.attempt], ['ExecutionRequested', 1]);
    assert.match(await metrics.registry.metrics(), /wf_scheduler_lateness_seconds_sum 0\.25/);
    assert.equal((await job.runOnce()).requeued, 0, 'once');
  });

  it('never resumes a waiting run that was cancelled', async () => {
    const { clock, store, execution: e } = await oneAcceptedRun();
    await store.executions.claimForRun(e.executionId, 1, 10_000);
    const resumeAt = new Date(clock.now().getTime() + 2_000);
    await store.executions.finishAttempt(e.executionId, 1, { status: 'waiting', at: clock.now(), retriesLeft: 2, nextAttemptAt: resumeAt });
    assert.equal((await store.executions.cancel(e.executionId, clock.now()))?.status, 'cancelled');
    clock.set(new Date(resumeAt.getTime() + 1_000));
    const job = new DueWaits({ store, clock, logger: silentLogger, topics: DEFAULT_TOPICS }, { batchSize: 10 });
    assert.equal((await job.runOnce()).requeued, 0);
    assert.equal((await store.executions.get(e.executionId))?.status, 'cancelled');
    assert.deepEqual(await relay(store, clock), [], 'no request sent');
  });
});

describe('DueRetries', () => {
  it('requeues a pending retry once its time has come: next attempt, workflow busy again, message in the outbox', async () => {
    const { clock, store, execution, deps } = await oneAcceptedRun();
    await store.executions.claimForRun(execution.executionId, 1, 10_000);
    await store.executions.finishAttempt(execution.executionId, 1, { status: 'pending_retry', at: clock.now(), retriesLeft: 1, nextAttemptAt: new Date(clock.now().getTime() + 1_000) });
    await store.workflows.setTriggerStatus('o', 'w', execution.executionId, ['busy'], 'pending', clock.now());
    const job = new DueRetries(deps, { batchSize: 10 });

    clock.advance(999);
    assert.deepEqual(await job.runOnce(), { requeued: 0 }, 'not before nextAttemptAt');
    clock.advance(1);
    assert.deepEqual(await job.runOnce(), { requeued: 1 });
    const requeued = await store.executions.get(execution.executionId);
    assert.equal(requeued?.status, 'queued');
    assert.equal(requeued?.attempt, 2);
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'busy');
    const [msg] = (await store.outbox.claimBatch(1_000, 10)).messages;
    assert.deepEqual(msg?.event.data, { executionId: execution.executionId, workflowId: 'w', ownerId: 'o', attempt: 2 });
    assert.deepEqual(await job.runOnce(), { requeued: 0 }, 'requeued once only');
  });
});

describe('ExpiredLeases', () => {
  it('hands a run whose runner died back to the queue on the same attempt, after the lease', async () => {
    const { clock, store, execution, deps } = await oneAcceptedRun();
    await store.executions.claimForRun(execution.executionId, 1, 5_000);
    const job = new ExpiredLeases(deps, { batchSize: 10 });
    clock.advance(4_999);
    assert.deepEqual(await job.runOnce(), { requeued: 0 }, 'a live lease is respected');
    clock.advance(1);
    assert.deepEqual(await job.runOnce(), { requeued: 1 });
    const requeued = await store.executions.get(execution.executionId);
    assert.equal(requeued?.status, 'queued');
    assert.equal(requeued?.attempt, 1);
    assert.equal((await store.outbox.backlog(clock.now())).count, 1);
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'busy');
  });
});

describe('requeue jobs and transactions', () => {
  it('requeue in small units of work, so one write conflict never redoes a whole batch', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    const n = 2 * REQUEUE_PER_TRANSACTION + 3;
    for (let i = 0; i < n; i++) {
      const e = await acceptedRun(store, clock, `w${i}`);
      await store.executions.claimForRun(e.executionId, 1, 1_000);
      if (i % 2) await store.executions.finishAttempt(e.executionId, 1, { status: 'pending_retry', at: clock.now(), retriesLeft: 1, nextAttemptAt: clock.now() });
    }
    clock.advance(1_000);
    const perTransaction: number[] = [];
    // The jobs' units of work return what they requeued.
    const counting: Store = {
      ...store,
      uow: {
        run: (work) =>
          store.uow.run(async (tx) => {
            const result = await work(tx);
            perTransaction.push((result as unknown[]).length);
            return result;
          }),
      },
    };
    const deps = { store: counting, clock, logger: silentLogger, topics: DEFAULT_TOPICS };
    const requeued = (await new DueRetries(deps, { batchSize: 500 }).runOnce()).requeued + (await new ExpiredLeases(deps, { batchSize: 500 }).runOnce()).requeued;
    assert.equal(requeued, n);
    assert.ok(perTransaction.every((size) => size <= REQUEUE_PER_TRANSACTION), `executions per transaction: ${perTransaction.join(', ')}`);
    assert.equal((await store.executions.countByStatus()).queued, n);
  });
});

describe('LostRequests', () => {
  const AGE = 60_000;
  const job = (store: Store, clock: FakeClock) =>
    new LostRequests({ store, clock, logger: silentLogger, topics: DEFAULT_TOPICS }, { batchSize: 16, queuedForMs: AGE });

  it('sends the request of a run still queued long after it was relayed again, same attempt and key, once per age', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    const e = await acceptedRun(store, clock); // accepted and relayed now
    const lost = job(store, clock);

    clock.advance(AGE - 1);
    assert.deepEqual(await lost.runOnce(), { requeued: 0 }, 'not before it has been queued for the age');
    clock.advance(1);
    assert.deepEqual(await lost.runOnce(), { requeued: 1 });
    const [again] = await relay(store, clock);
    assert.equal(again?.topic, DEFAULT_TOPICS.requested);
    assert.equal(again?.key, partitionKey('o', 'w'));
    assert.deepEqual(again?.event.data, { executionId: e.executionId, workflowId: 'w', ownerId: 'o', attempt: 1 });
    const queued = await store.executions.get(e.executionId);
    assert.deepEqual([queued?.status, queued?.attempt], ['queued', 1]);
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'busy');

    clock.advance(AGE - 1);
    assert.deepEqual(await lost.runOnce(), { requeued: 0 }, 'not again before the age has passed again');
    clock.advance(1);
    assert.deepEqual(await lost.runOnce(), { requeued: 1 });
  });

  it('leaves a run whose request is still in the outbox to the relay, and a run a runner took', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore({ clock });
    const e = await acceptedRun(store, clock);
    const lost = job(store, clock);
    clock.advance(AGE);
    assert.deepEqual(await lost.runOnce(), { requeued: 1 });
    clock.advance(10 * AGE); // the relay is down: the request sent again waits in the outbox
    assert.deepEqual(await lost.runOnce(), { requeued: 0 });

    await relay(store, clock);
    await store.executions.claimForRun(e.executionId, 1, 10 * AGE);
    clock.advance(2 * AGE);
    assert.deepEqual(await lost.runOnce(), { requeued: 0 }, 'running');
  });
});
