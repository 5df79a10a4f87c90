import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { systemClock, DEFAULT_TOPICS, nextRunAfter, silentLogger, type Store, type TriggerSpec, type Workflow } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { createInProcessBus } from '@wf/shared/inprocess';
import { aWorkflow, FakeClock } from '@wf/shared/testing';
import { createScheduler, PeriodicRuns } from '../src/index.js';

const options = { batchSize: 50, leaseMs: 10_000, concurrency: 4 };

function workflow(id: string, trigger: TriggerSpec, now: Date, owner = 'owner-1'): Workflow {
  const nextRunAt = nextRunAfter(trigger, now);
  return aWorkflow({ workflowId: id, ownerId: owner, trigger: { ...trigger, status: 'idle', ...(nextRunAt ? { nextRunAt } : {}) }, createdAt: now, updatedAt: now });
}

/** A fake clock, a memory store holding one workflow with `trigger`, and the job on them. */
async function periodicRunsOn(workflowId: string, trigger: TriggerSpec) {
  const clock = new FakeClock('2026-01-01T00:00:00Z');
  const store = createMemoryStore({ clock });
  await store.workflows.create(workflow(workflowId, trigger, clock.now()));
  return { clock, store, job: new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, options) };
}

async function emittedRuns(store: Store) {
  const { messages } = await store.outbox.claimBatch(0, 100_000);
  return messages.map((m) => m.event.data as { executionId: string; workflowId: string });
}

/** Releases the workflow as its run's runner would. */
const finish = async (store: Store, ownerId: string, workflowId: string) => {
  const holder = (await store.workflows.get(ownerId, workflowId))?.trigger.executionId;
  assert.ok(holder, 'a run holds the trigger');
  assert.equal(await store.workflows.setTriggerStatus(ownerId, workflowId, holder, ['busy'], 'idle', new Date()), true);
};

describe('PeriodicRuns', () => {
  it('emits once per due time as the clock advances, with the due time recorded', async () => {
    const { clock, store, job } = await periodicRunsOn('every-second', { type: 'periodic', interval: '1s' });

    assert.deepEqual(await job.runOnce(), { emitted: 0, skippedBusy: 0, missed: 0, waiting: 0, lost: 0, errors: 0 }, 'nothing is due yet');
    for (let i = 1; i <= 3; i++) {
      clock.advance(1_000);
      assert.equal((await job.runOnce()).emitted, 1);
      assert.equal((await job.runOnce()).emitted, 0, 'a second pass at the same time emits nothing');
      await finish(store, 'owner-1', 'every-second');
    }
    const runs = await store.executions.listByWorkflow('owner-1', 'every-second', { limit: 10 });
    assert.deepEqual(
      runs.items.map((e) => e.trigger.scheduledFor?.toISOString()).sort(),
      ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z'],
    );
    assert.equal((await emittedRuns(store)).length, 3);
  });

  it('skips (and counts) a due run while the workflow is busy, but still moves the schedule on', async () => {
    const { clock, store, job } = await periodicRunsOn('slow', { type: 'periodic', interval: '1s' });
    clock.advance(1_000);
    assert.equal((await job.runOnce()).emitted, 1);
    clock.advance(1_000);
    assert.deepEqual(await job.runOnce(), { emitted: 0, skippedBusy: 1, missed: 0, waiting: 0, lost: 0, errors: 0 });
    const wf = await store.workflows.get('owner-1', 'slow');
    assert.equal(wf?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:00:03.000Z');
    assert.equal(wf?.trigger.status, 'busy');
    assert.equal((await store.executions.listByWorkflow('owner-1', 'slow', { limit: 10 })).items.length, 1);
  });

  it('overlap queue: holds the due run while the workflow is busy (one waits, later due times fold into it) and runs it once free', async () => {
    const { clock, store } = await periodicRunsOn('queued', { type: 'periodic', interval: '1s', overlap: 'queue' });
    const job = new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, { ...options, batchSize: 1 });
    clock.advance(1_000);
    assert.equal((await job.runOnce()).emitted, 1);
    clock.advance(1_000);
    assert.deepEqual(await job.runOnce(), { emitted: 0, skippedBusy: 0, missed: 0, waiting: 1, lost: 0, errors: 0 }, 'one pass, not a loop: batchSize 1 and it is due again at once');
    clock.advance(2_500); // two more due times pass while the first run goes on
    assert.equal((await job.runOnce()).waiting, 1);
    let wf = await store.workflows.get('owner-1', 'queued');
    assert.equal(wf?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:00:02.000Z', 'the held due time stays');
    assert.equal(wf?.trigger.leaseUntil, undefined, 'and is not claimed meanwhile');
    await finish(store, 'owner-1', 'queued');
    assert.equal((await job.runOnce()).emitted, 1, 'the waiting run starts once the workflow is free');
    const runs = (await store.executions.listByWorkflow('owner-1', 'queued', { limit: 10 })).items;
    assert.equal(runs.length, 2, 'one run waited; the due times that passed meanwhile folded into it');
    assert.equal(runs[0]?.trigger.scheduledFor?.toISOString(), '2026-01-01T00:00:04.000Z', 'for the latest due time');
    wf = await store.workflows.get('owner-1', 'queued');
    assert.equal(wf?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:00:05.000Z', 'the schedule moves on from now');
  });

  it('overlap queue: a manual run that started since the claim makes the due run wait, not vanish', async () => {
    const { clock, store, job } = await periodicRunsOn('raced', { type: 'periodic', interval: '1s', overlap: 'queue' });
    clock.advance(1_000);
    const [claimed] = await store.workflows.claimDueScheduled(10_000, 10);
    await store.workflows.setTriggerStatus('owner-1', 'raced', 'manual-run', ['idle'], 'busy', clock.now()); // the manual run
    await store.workflows.advanceSchedule('owner-1', 'raced', claimed!.trigger.nextRunAt!, claimed!.trigger.nextRunAt!); // release the test's claim
    const emit = (job as unknown as { emit(tx: unknown, w: Workflow, now: Date): Promise<unknown> }).emit.bind(job);
    assert.equal(await store.uow.run((tx) => emit(tx, claimed!, clock.now())).then((e) => (e as unknown as { outcome: string }).outcome), 'waiting');
    assert.equal((await store.workflows.get('owner-1', 'raced'))?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:00:01.000Z');
  });

  it('runs once, not ten times, after the scheduler was down for ten intervals', async () => {
    const { clock, store, job } = await periodicRunsOn('w', { type: 'periodic', interval: '1s' });
    clock.advance(10_500);
    assert.equal((await job.runOnce()).emitted, 1);
    await finish(store, 'owner-1', 'w');
    assert.equal((await job.runOnce()).emitted, 0);
    assert.equal((await store.workflows.get('owner-1', 'w'))?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:00:11.000Z');
  });

  describe('due times missed while the scheduler could not act (catchUp)', () => {
    const T0 = '2026-01-01T00:00:00Z';
    const runsOf = async (store: Store, id: string) =>
      (await store.executions.listByWorkflow('owner-1', id, { limit: 10 })).items.map((e) => e.trigger.scheduledFor?.toISOString());
    const nextRunAt = async (store: Store, id: string) => (await store.workflows.get('owner-1', id))?.trigger.nextRunAt?.toISOString();

    it('"none" (the default) skips a due time acted on after the misfire threshold, counts it, and runs the next one', async () => {
      const clock = new FakeClock(T0);
      const store = createMemoryStore({ clock });
      await store.workflows.create(workflow('hourly', { type: 'periodic', interval: '1h' }, clock.now()));
      const job = new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, options);
      clock.advance(3_600_000 + 5 * 60_000); // five minutes past the due time: the store was down
      assert.deepEqual(await job.runOnce(), { emitted: 0, skippedBusy: 0, missed: 1, waiting: 0, lost: 0, errors: 0 });
      assert.deepEqual(await runsOf(store, 'hourly'), []);
      assert.equal(await nextRunAt(store, 'hourly'), '2026-01-01T02:00:00.000Z');
      clock.set('2026-01-01T02:00:00Z');
      assert.equal((await job.runOnce()).emitted, 1);
      assert.deepEqual(await runsOf(store, 'hourly'), ['2026-01-01T02:00:00.000Z']);
    });

    it('a due time acted on late but within the threshold is on time, whatever catchUp says', async () => {
      const clock = new FakeClock(T0);
      const store = createMemoryStore({ clock });
      await store.workflows.create(workflow('hourly', { type: 'periodic', interval: '1h', catchUp: 'none' }, clock.now()));
      const job = new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, options);
      clock.advance(3_600_000 + 60_000);
      assert.equal((await job.runOnce()).emitted, 1);
      assert.deepEqual(await runsOf(store, 'hourly'), ['2026-01-01T01:00:00.000Z']);
    });

    it('"latest" runs once, for the most recent of the due times missed, then keeps the schedule', async () => {
      const clock = new FakeClock(T0);
      const store = createMemoryStore({ clock });
      await store.workflows.create(workflow('hourly', { type: 'periodic', interval: '1h', catchUp: 'latest' }, clock.now()));
      const job = new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, options);
      clock.set('2026-01-01T03:10:00Z'); // 01:00, 02:00 and 03:00 passed
      assert.deepEqual(await job.runOnce(), { emitted: 1, skippedBusy: 0, missed: 0, waiting: 0, lost: 0, errors: 0 });
      assert.deepEqual(await runsOf(store, 'hourly'), ['2026-01-01T03:00:00.000Z']);
      assert.equal(await nextRunAt(store, 'hourly'), '2026-01-01T04:00:00.000Z');
      assert.equal((await job.runOnce()).emitted, 0, 'once');
    });

    it('a daily cron job down over its time: "latest" runs the day\'s run late, "none" skips the day', async () => {
      const clock = new FakeClock(T0);
      const store = createMemoryStore({ clock });
      await store.workflows.create(workflow('daily-latest', { type: 'cron', cron: '0 2 * * *', catchUp: 'latest' }, clock.now()));
      await store.workflows.create(workflow('daily-none', { type: 'cron', cron: '0 2 * * *' }, clock.now()));
      const job = new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, options);
      clock.set('2026-01-03T05:00:00Z'); // down from before Jan 1 02:00 until Jan 3 05:00
      assert.deepEqual(await job.runOnce(), { emitted: 1, skippedBusy: 0, missed: 1, waiting: 0, lost: 0, errors: 0 });
      assert.deepEqual(await runsOf(store, 'daily-latest'), ['2026-01-03T02:00:00.000Z']);
      assert.deepEqual(await runsOf(store, 'daily-none'), []);
      for (const id of ['daily-latest', 'daily-none']) assert.equal(await nextRunAt(store, id), '2026-01-04T02:00:00.000Z');
    });
  });

  it('two schedulers racing on one store never emit the same due run twice', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const store = createMemoryStore({ clock });
    for (let i = 0; i < 200; i++) await store.workflows.create(workflow(`w${i}`, { type: 'periodic', interval: '1s' }, clock.now()));
    const a = new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, { ...options, batchSize: 7 });
    const b = new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, { ...options, batchSize: 11 });
    let emitted = 0;
    for (let tick = 1; tick <= 5; tick++) {
      clock.advance(1_000);
      const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
      emitted += ra.emitted + rb.emitted;
      for (let i = 0; i < 200; i++) await finish(store, 'owner-1', `w${i}`);
    }
    assert.equal(emitted, 1_000);
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      for (const e of (await store.executions.listByWorkflow('owner-1', `w${i}`, { limit: 100 })).items) {
        const key = `${e.workflowId}@${e.trigger.scheduledFor?.toISOString()}`;
        assert.ok(!keys.has(key), `emitted twice: ${key}`);
        keys.add(key);
      }
    }
    assert.equal(keys.size, 1_000);
  });

  it('fires a cron trigger at the expression\'s times', async () => {
    const { clock, store, job } = await periodicRunsOn('quarter', { type: 'cron', cron: '*/15 * * * *' });
    clock.set('2026-01-01T00:14:59Z');
    assert.equal((await job.runOnce()).emitted, 0);
    clock.set('2026-01-01T00:15:00.200Z');
    assert.equal((await job.runOnce()).emitted, 1);
    const wf = await store.workflows.get('owner-1', 'quarter');
    assert.equal(wf?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:30:00.000Z');
  });

  it('moves a cron schedule past a due time that came between reading the store\'s clock and claiming', async () => {
    const clock = new FakeClock('2026-01-01T00:14:59.999Z');
    const store = createMemoryStore({ clock });
    await store.workflows.create(workflow('quarter', { type: 'cron', cron: '*/15 * * * *' }, clock.now()));
    // The store's clock ticks past the due time right after the scheduler read it.
    const racing: Store = { ...store, now: async () => store.now().finally(() => clock.set('2026-01-01T00:15:00.001Z')) };
    const job = new PeriodicRuns({ store: racing, logger: silentLogger, topics: DEFAULT_TOPICS }, options);
    assert.equal((await job.runOnce()).emitted, 1);
    assert.equal((await store.workflows.get('owner-1', 'quarter'))?.trigger.nextRunAt?.toISOString(), '2026-01-01T00:30:00.000Z', 'not the due time just emitted');
  });

  it('writes nothing when another scheduler already moved the schedule (lost claim)', async () => {
    const clock = new FakeClock('2026-01-01T00:00:10Z');
    const wf = workflow('w', { type: 'periodic', interval: '10s' }, new Date('2026-01-01T00:00:00Z'));
    const tx = {
      workflows: { advanceSchedule: mock.fn(async () => false), setTriggerStatus: mock.fn(async () => true) },
      executions: { insert: mock.fn(async () => {}) },
      outbox: { add: mock.fn(async () => {}) },
    };
    const store = {
      now: async () => clock.now(),
      workflows: { claimDueScheduled: mock.fn(async () => [wf]) },
      uow: { run: mock.fn(async (work: (t: unknown) => Promise<unknown>) => work(tx)) },
    } as unknown as Store;
    const report = await new PeriodicRuns({ store, logger: silentLogger, topics: DEFAULT_TOPICS }, options).runOnce();
    assert.deepEqual(report, { emitted: 0, skippedBusy: 0, missed: 0, waiting: 0, lost: 1, errors: 0 });
    assert.equal(tx.workflows.setTriggerStatus.mock.callCount(), 0);
    assert.equal(tx.executions.insert.mock.callCount(), 0);
    assert.equal(tx.outbox.add.mock.callCount(), 0);
  });

  it('writes the runs due together in one unit of work, and retries a failed group one workflow at a time', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const store = createMemoryStore({ clock });
    for (const id of ['a', 'b', 'bad', 'c']) await store.workflows.create(workflow(id, { type: 'periodic', interval: '1s' }, clock.now()));
    // A store whose unit of work fails whenever it writes the run of workflow "bad".
    const units = mock.fn();
    const failing: Store = {
      ...store,
      uow: {
        run: (work) => {
          units();
          return store.uow.run((tx) =>
            work({
              ...tx,
              workflows: {
                ...tx.workflows,
                acceptRun: async (e, m, version) => {
                  if (e.workflowId === 'bad') throw new Error('disk full');
                  return tx.workflows.acceptRun(e, m, version);
                },
              },
            }),
          );
        },
      },
    };
    clock.advance(1_000);
    const report = await new PeriodicRuns({ store: failing, logger: silentLogger, topics: DEFAULT_TOPICS }, { ...options, groupSize: 10 }).runOnce();
    assert.deepEqual(report, { emitted: 3, skippedBusy: 0, missed: 0, waiting: 0, lost: 0, errors: 1 });
    assert.equal(units.mock.callCount(), 1 + 4, 'one unit of work for the group, then one per workflow');
    assert.deepEqual((await emittedRuns(store)).map((r) => r.workflowId).sort(), ['a', 'b', 'c']);
    const bad = await store.workflows.get('owner-1', 'bad');
    assert.equal(bad?.trigger.status, 'idle', 'nothing of the failed run was written');
    assert.equal(bad?.trigger.nextRunAt?.getTime(), clock.now().getTime(), 'its due time stays, for the next pass');
  });
});

describe('Scheduler', () => {
  it('emits a due run at its due time, without waiting for the next tick', async () => {
    const store = createMemoryStore();
    const bus = createInProcessBus();
    const now = systemClock.now();
    // Due 300 ms from now; the tick is 30 s, so only the due-time wake-up can emit it in time.
    await store.workflows.create({ ...workflow('soon', { type: 'periodic', interval: '1h' }, now), trigger: { type: 'periodic', interval: '1h', status: 'idle', nextRunAt: new Date(now.getTime() + 300) } });
    const scheduler = createScheduler({
      store, publisher: bus.publisher, clock: systemClock, logger: silentLogger, topics: DEFAULT_TOPICS,
      config: { tick: '30s', batchSize: 100, concurrency: 2, leaseMs: 10_000, requeueQueuedAfterMs: 300_000, outbox: { batchSize: 100, lockMs: 10_000, retentionMs: 3_600_000 } },
    });
    await scheduler.start();
    try {
      const deadline = Date.now() + 10_000;
      let runs: { items: { trigger: { scheduledFor?: Date } }[] } = { items: [] };
      while (runs.items.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        runs = await store.executions.listByWorkflow('owner-1', 'soon', { limit: 10 });
      }
      assert.equal(runs.items.length, 1, 'the run was emitted before the first tick');
      assert.equal(runs.items[0]?.trigger.scheduledFor?.getTime(), now.getTime() + 300);
    } finally {
      await scheduler.stop();
      await bus.close();
    }
  });
});
