import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it, mock } from 'node:test';
import { createMemoryStore } from '../src/adapters/memory/index.js';
import { createPostgresStore } from '../src/adapters/postgres/index.js';
import {
  acceptRun,
  ConflictError,
  runResultMessage,
  DEFAULT_RETRY_POLICY,
  DEFAULT_TOPICS,
  executionRequestedMessage,
  GroupCommit,
  newExecution,
  NotFoundError,
  UnavailableError,
  WorkflowBusyError,
  type AttemptEnding,
  type Execution,
  type RunAcceptance,
  type StepSave,
  type Repos,
  type Store,
  type User,
  type Workflow,
} from '../src/index.js';
import { dropSchemas, freePort, postgresTier, uniqueSchemaName, withOutage } from '../src/testing/index.js';

const user = (n: number): User => ({ userId: `u${n}`, email: `u${n}@example.com`, passwordHash: 'x', createdAt: new Date(0), sessionVersion: 0 });

/** A store (memory unless given) that counts its transactions. */
function counted(inner: Store = createMemoryStore()): { store: Store; transactions: ReturnType<typeof mock.fn> } {
  const transactions = mock.fn();
  const store: Store = Object.assign(Object.create(inner) as Store, {
    uow: {
      run: <T>(work: (tx: Repos) => Promise<T>) => {
        transactions();
        return inner.uow.run(work);
      },
    },
  });
  return { store, transactions };
}

describe('GroupCommit', () => {
  it('runs a lone unit of work in its own transaction and a lone statement without one', async () => {
    const { store, transactions } = counted();
    const commit = new GroupCommit(store);
    await commit.run((tx) => tx.users.create(user(1)));
    assert.equal(transactions.mock.callCount(), 1);
    await commit.runSingleWrite((repos) => repos.users.create(user(2)));
    assert.equal(transactions.mock.callCount(), 1, 'a single statement needs no transaction');
    assert.ok(await store.users.findById('u1'));
    assert.ok(await store.users.findById('u2'));
  });

  it('groups what arrives while the transactions in flight are busy into the next one', async () => {
    const { store, transactions } = counted();
    const commit = new GroupCommit(store, { maxInFlight: 1, maxGroup: 64 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        commit.run(async (tx) => {
          await tx.users.create(user(i));
          return i;
        }),
      ),
    );
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each part gets its own result');
    assert.equal(transactions.mock.callCount(), 2, 'the first alone, the nine that waited together');
    for (let i = 0; i < 10; i++) assert.ok(await store.users.findById(`u${i}`));
  });

  it('gives each part of a failed group the outcome it would have had alone', async () => {
    const { store, transactions } = counted();
    const commit = new GroupCommit(store, { maxInFlight: 1 });
    const first = commit.run((tx) => tx.users.create(user(0)));
    const group = [1, 2, 3].map((i) =>
      commit.run(async (tx) => {
        await tx.users.create(user(i));
        if (i === 2) throw new Error('part 2 fails after writing');
      }),
    );
    const settled = await Promise.allSettled([first, ...group]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((settled[2] as PromiseRejectedResult).reason), /part 2 fails/);
    assert.ok(await store.users.findById('u1'));
    assert.equal(await store.users.findById('u2'), null, "the failed part's write was rolled back");
    assert.ok(await store.users.findById('u3'));
    assert.equal(transactions.mock.callCount(), 1 + 1 + 3, 'the first, the failed group, then one each');
  });

  it('asks a refused part again when the refusal rested on a part that did not commit after all', async () => {
    const { store } = counted();
    const commit = new GroupCommit(store, { maxInFlight: 1 });
    const first = commit.run((tx) => tx.users.create(user(0)));
    let runsOfA = 0;
    // A writes u1 the first time it runs, and is refused the second time (the world changed).
    const a = commit.run(async (tx) => {
      runsOfA += 1;
      if (runsOfA > 1) throw new NotFoundError('gone meanwhile');
      await tx.users.create(user(1));
    });
    // B is refused only because it sees A's u1: once A is out, that refusal no longer holds.
    const b = commit.run(async (tx) => {
      if (await tx.users.findById('u1')) throw new ConflictError('u1 exists');
      await tx.users.create(user(2));
      return 'b done';
    });
    const settled = await Promise.allSettled([first, a, b]);
    assert.equal(settled[0].status, 'fulfilled');
    assert.ok(settled[1].status === 'rejected' && settled[1].reason instanceof NotFoundError);
    assert.deepEqual(settled[2], { status: 'fulfilled', value: 'b done' }, 'B met the store as it was committed');
    assert.equal(await store.users.findById('u1'), null);
    assert.ok(await store.users.findById('u2'));
  });

  it('lets a statement that conflicts fail alone, inside a group', async () => {
    const { store } = counted();
    const commit = new GroupCommit(store, { maxInFlight: 1 });
    await store.users.create(user(9));
    const parts = [commit.runSingleWrite((r) => r.users.create(user(5))), commit.runSingleWrite((r) => r.users.create(user(9))), commit.runSingleWrite((r) => r.users.create(user(6)))];
    const settled = await Promise.allSettled(parts);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok(await store.users.findById('u5'));
    assert.ok(await store.users.findById('u6'));
  });

  it('sends the claims made in one turn of the event loop as one write, each run to one caller', async () => {
    const { store, transactions } = counted();
    const inner = Object.getPrototypeOf(store) as Store;
    const writes = mock.fn();
    const claimMany = inner.executions.claimManyForRun;
    Object.assign(store, { executions: { ...inner.executions, claimManyForRun: (...args: Parameters<typeof claimMany>) => (writes(), claimMany(...args)) } });
    const ids = ['a', 'b', 'c'];
    const at = new Date(0);
    for (const id of ids) {
      await store.executions.insert({
        executionId: id, workflowId: 'w', ownerId: 'o', workflowVersion: 1, actions: [], retryPolicy: { maxRetries: 0, backoff: 'fixed', baseDelayMs: 0 } as never,
        trigger: { type: 'manual', firedAt: at }, status: 'queued', attempt: 1, retriesLeft: 0, steps: [], createdAt: at, updatedAt: at,
      });
    }
    const commit = new GroupCommit(store);
    const results = await Promise.all([...ids, 'a', 'missing'].map((id) => commit.claimForRun(id, 1, 60_000)));
    assert.equal(writes.mock.callCount(), 1, 'one write for the five claims');
    assert.equal(transactions.mock.callCount(), 0, 'and no transaction');
    assert.deepEqual(results.map((e) => e?.executionId ?? null), ['a', 'b', 'c', null, null], 'a run claimed twice goes to the first caller only');
  });

  it('sends the steps saved in one turn as one write per lease', async () => {
    const { store } = counted();
    const inner = Object.getPrototypeOf(store) as Store;
    const writes: number[] = [];
    const saveMany = inner.executions.saveSteps;
    Object.assign(store, { executions: { ...inner.executions, saveSteps: (saves: StepSave[], leaseMs: number) => (writes.push(leaseMs), saveMany(saves, leaseMs)) } });
    const runs: Execution[] = [];
    for (const id of ['a', 'b', 'c']) {
      const wf = manual('o', `w-${id}`);
      await store.workflows.create(wf);
      const run = await inner.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: T }, DEFAULT_TOPICS, T));
      runs.push((await store.executions.claimForRun(run.executionId, 1, 60_000))!);
    }
    const [a, b, c] = runs as [Execution, Execution, Execution];
    const running = { index: 0, type: 'log' as const, status: 'running' as const, attempt: 1, startedAt: T };
    const commit = new GroupCommit(store);
    const saved = await Promise.all([
      commit.saveStep(a.executionId, 1, running, 60_000),
      commit.saveStep(b.executionId, 1, running, 60_000),
      commit.saveStep(c.executionId, 1, running, 5_000),
      commit.saveStep(a.executionId, 2, running, 60_000),
    ]);
    assert.deepEqual(saved, [true, true, true, false]);
    assert.deepEqual(writes.sort(), [5_000, 60_000], 'one write per lease');
    assert.equal((await store.executions.get(c.executionId))?.steps[0]?.status, 'running');
  });

  it('sends the ends of attempts asked for in one turn as one write; a write that fails is made again end by end', async () => {
    const { store, transactions } = counted();
    const inner = Object.getPrototypeOf(store) as Store;
    const writes: string[][] = [];
    const endMany = inner.executions.endAttempts;
    Object.assign(store, {
      executions: {
        ...inner.executions,
        endAttempts: (ends: AttemptEnding[]) => {
          writes.push(ends.map((e) => e.executionId));
          // A value the store refuses, as a document over its size limit: any write with it fails.
          return ends.some((e) => e.update.error === 'poison') ? Promise.reject(new Error('too large')) : endMany(ends);
        },
      },
    });
    const runs: Execution[] = [];
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      const wf = manual('o', `w-${id}`);
      await store.workflows.create(wf);
      const run = await inner.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: T }, DEFAULT_TOPICS, T));
      runs.push((await store.executions.claimForRun(run.executionId, 1, 60_000))!);
    }
    const end = (e: Execution, error?: string): AttemptEnding => ({
      executionId: e.executionId, attempt: 1, update: { status: 'failed', at: T, retriesLeft: 0, ...(error ? { error } : {}) },
      ownerId: 'o', workflowId: e.workflowId, trigger: 'idle', message: runResultMessage(e, 'failed', T, DEFAULT_TOPICS, error),
    });
    const commit = new GroupCommit(store);
    const [a, b, c, d, e] = runs as [Execution, Execution, Execution, Execution, Execution];
    assert.deepEqual(await Promise.all([commit.endAttempt(end(a)), commit.endAttempt(end(b)), commit.endAttempt(end(a))]), [true, true, false], 'a run ended twice: the first caller');
    assert.deepEqual(writes, [[a.executionId, b.executionId, a.executionId]], 'one write for the three');
    assert.equal(transactions.mock.callCount(), 0, 'and no transaction');
    assert.equal((await store.workflows.get('o', 'w-a'))?.trigger.status, 'idle');

    writes.length = 0;
    const settled = await Promise.allSettled([commit.endAttempt(end(c)), commit.endAttempt(end(d, 'poison')), commit.endAttempt(end(e))]);
    assert.deepEqual(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)), [true, 'too large', true], 'the failure is its own run\'s alone');
    assert.deepEqual(writes[0], [c.executionId, d.executionId, e.executionId]);
    assert.deepEqual(writes.slice(1).sort(), [[c.executionId], [d.executionId], [e.executionId]].sort(), 'then each alone');
    assert.deepEqual((await Promise.all(runs.map((r) => store.executions.get(r.executionId)))).map((r) => r?.status), ['failed', 'failed', 'failed', 'running', 'failed']);
  });

  it('sends the runs accepted in one turn as one write; a write that fails is made again run by run', async () => {
    const { store, transactions } = counted();
    const inner = Object.getPrototypeOf(store) as Store;
    const writes: string[][] = [];
    const acceptMany = inner.workflows.acceptRuns;
    Object.assign(store, {
      workflows: {
        ...inner.workflows,
        acceptRuns: (accepts: RunAcceptance[]) => {
          writes.push(accepts.map((a) => a.execution.workflowId));
          // A value the store refuses: any write with it fails.
          return accepts.some((a) => (a.execution.trigger.payload as { poison?: boolean } | undefined)?.poison) ? Promise.reject(new Error('refused')) : acceptMany(accepts);
        },
      },
    });
    const workflows = ['a', 'b', 'c', 'd', 'e'].map((id) => manual('o', `w-${id}`));
    for (const wf of workflows) await store.workflows.create(wf);
    const acceptance = (wf: Workflow, payload?: Record<string, unknown>): RunAcceptance => {
      const execution = newExecution(wf, { type: 'manual', firedAt: T, ...(payload ? { payload } : {}) }, T);
      return { execution, request: executionRequestedMessage(execution, DEFAULT_TOPICS, T), asRead: wf };
    };
    const commit = new GroupCommit(store);
    const [a, b, c, d, e] = workflows as [Workflow, Workflow, Workflow, Workflow, Workflow];
    assert.deepEqual(await Promise.all([commit.acceptRun(acceptance(a)), commit.acceptRun(acceptance(b)), commit.acceptRun(acceptance(a))]), [true, true, false], 'a workflow accepted twice: one run');
    assert.deepEqual(writes, [['w-a', 'w-b', 'w-a']], 'one write for the three');
    assert.equal(transactions.mock.callCount(), 0, 'and no transaction');
    assert.equal((await store.workflows.get('o', 'w-a'))?.trigger.status, 'busy');

    writes.length = 0;
    const settled = await Promise.allSettled([commit.acceptRun(acceptance(c)), commit.acceptRun(acceptance(d, { poison: true })), commit.acceptRun(acceptance(e))]);
    assert.deepEqual(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)), [true, 'refused', true], 'the failure is its own run\'s alone');
    assert.deepEqual(writes[0], ['w-c', 'w-d', 'w-e']);
    assert.deepEqual(writes.slice(1).sort(), [['w-c'], ['w-d'], ['w-e']].sort(), 'then each alone');
    assert.deepEqual((await Promise.all(workflows.map((wf) => store.workflows.get('o', wf.workflowId)))).map((wf) => wf?.trigger.status), ['busy', 'busy', 'busy', 'idle', 'busy']);
  });
});

const tier = postgresTier();
const schema = uniqueSchemaName('wf_group');
after(async () => {
  if (tier.url) await dropSchemas(tier.url, schema);
});

const stores: [string, () => Promise<Store>, string | undefined][] = [
  ['memory', async () => createMemoryStore(), undefined],
  ['postgres', async () => createPostgresStore({ url: tier.url!, schema }), tier.skip],
];

const T = new Date('2026-01-01T00:00:00Z');
const manual = (ownerId: string, workflowId: string, status: 'idle' | 'busy' = 'idle'): Workflow => ({
  workflowId,
  ownerId,
  name: workflowId,
  enabled: true,
  trigger: { type: 'manual', status },
  actions: [{ type: 'log', message: 'hi' }],
  retryPolicy: DEFAULT_RETRY_POLICY,
  createdAt: T,
  updatedAt: T,
  version: 1,
});

/** A manual trigger as workflows-svc runs it: find the workflow (404), accept a run (409 while busy). */
const trigger = (commit: GroupCommit, ownerId: string, workflowId: string) =>
  commit.run(async (tx) => {
    const wf = await tx.workflows.get(ownerId, workflowId);
    if (!wf) throw new NotFoundError(`workflow "${workflowId}" not found`);
    return acceptRun(tx, wf, { type: 'manual', firedAt: T }, DEFAULT_TOPICS, T);
  });

for (const [name, open, skip] of stores) {
  describe(`GroupCommit with 64 concurrent triggers on ${name}`, { skip }, () => {
    it('answers a refusal (404, 409) to its own caller only; the other parts commit together', async () => {
      const base = await open();
      await base.init();
      const { store, transactions } = counted(base);
      try {
        const owner = `owner-${randomBytes(4).toString('hex')}`;
        for (let i = 0; i < 40; i++) await store.workflows.create(manual(owner, `idle-${i}`));
        await store.workflows.create(manual(owner, 'busy', 'busy'));
        // One transaction at a time: the first trigger runs alone, the other 63 wait and form one group.
        const commit = new GroupCommit(store, { maxInFlight: 1, maxGroup: 64 });
        // Every fourth trigger is for the busy workflow, every eighth for one that does not exist.
        let idle = 0;
        const targets = Array.from({ length: 64 }, (_, i) => (i % 4 === 1 ? 'busy' : i % 8 === 3 ? `missing-${i}` : `idle-${idle++}`));
        const answers = await Promise.allSettled(targets.map((id) => trigger(commit, owner, id)));

        const refused = targets.filter((id) => !id.startsWith('idle-')).length;
        answers.forEach((answer, i) => {
          const id = targets[i]!;
          if (id === 'busy') assert.ok(answer.status === 'rejected' && answer.reason instanceof WorkflowBusyError, `${i}: 409 for the busy workflow`);
          else if (id.startsWith('missing-')) assert.ok(answer.status === 'rejected' && answer.reason instanceof NotFoundError, `${i}: 404 for a missing workflow`);
          else assert.equal(answer.status, 'fulfilled', `${i}: ${id} accepted despite its neighbours' refusals`);
        });
        const accepted = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
        assert.equal(accepted.length, 64 - refused);
        assert.equal(new Set(accepted.map((e) => e.workflowId)).size, accepted.length, 'each idle workflow triggered once');
        for (const e of accepted) {
          assert.equal((await store.executions.get(e.executionId))?.status, 'queued');
          assert.equal((await store.workflows.get(owner, e.workflowId))?.trigger.status, 'busy');
        }
        assert.equal((await store.executions.listByWorkflow(owner, 'busy', { limit: 10 })).items.length, 0, 'a refused part wrote nothing');
        const { messages: outbox } = await store.outbox.claimBatch(1, 10_000);
        const mine = outbox.filter((m) => accepted.some((e) => e.executionId === (m.event.data as { executionId: string }).executionId));
        assert.equal(mine.length, accepted.length, 'one outbox message per accepted run');
        // One transaction for the first, then one per refusal (rolled back, the rest again without it) and the commit.
        // Running every part alone after a refusal would take one transaction per part (65).
        assert.ok(transactions.mock.callCount() <= 1 + refused + 1, `${transactions.mock.callCount()} transactions for ${refused} refusals`);
      } finally {
        await base.close();
      }
    });

    it('answers every caller 503 after one connection attempt per transaction in flight when the store is unreachable', async () => {
      const base = name === 'postgres' ? createPostgresStore({ url: `postgres://postgres@127.0.0.1:${await freePort()}/test` }) : withOutage(createMemoryStore());
      const { store, transactions } = counted('store' in base ? base.store : base);
      if ('down' in base) base.down();
      try {
        const commit = new GroupCommit(store, { maxInFlight: 4, maxGroup: 64 });
        const answers = await Promise.allSettled(Array.from({ length: 64 }, (_, i) => trigger(commit, 'owner', `w-${i}`)));
        for (const answer of answers) assert.ok(answer.status === 'rejected' && answer.reason instanceof UnavailableError, String(answer.status === 'rejected' ? answer.reason : 'fulfilled'));
        // The four that went at once each tried; the 60 that waited were answered when the first failed.
        assert.ok(transactions.mock.callCount() <= 4 + 1, `${transactions.mock.callCount()} transactions attempted`);
      } finally {
        await store.close();
      }
    });
  });
}
