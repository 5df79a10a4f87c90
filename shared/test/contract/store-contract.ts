import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  acceptRun,
  CANCELLED_STEP_ERROR,
  ConflictError,
  DEFAULT_MAX_STEP_OUTPUT_BYTES,
  DEFAULT_TOPICS,
  executionRequestedMessage,
  MAX_ATTEMPT_RECORDS,
  NotFoundError,
  runResultMessage,
  ValidationError,
  WorkflowBusyError,
  type Execution,
  type HttpRequestAction,
  type OutboxBatch,
  type OutboxMessage,
  type Step,
  type Store,
  type Workflow,
  type WorkflowRevision,
} from '../../src/index.js';
import { encodeCursor } from '../../src/adapters/cursor.js';
import { anExecution, aWorkflow } from '../../src/testing/index.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

const workflow = (ownerId: string, workflowId: string, extra: Partial<Workflow> = {}): Workflow => aWorkflow({ ownerId, workflowId, ...extra });

function execution(ownerId: string, workflowId: string, extra: Partial<Execution> = {}): Execution {
  return anExecution({ ownerId, workflowId, trigger: { type: 'manual', firedAt: T0, payload: { a: 1 } }, createdAt: T0, ...extra });
}

function outboxMessage(key: string, createdAt: Date): OutboxMessage {
  return {
    id: randomUUID(),
    topic: 'execution.requested',
    key,
    event: { id: randomUUID(), type: 'ExecutionRequested', version: 1, occurredAt: createdAt.toISOString(), data: { executionId: randomUUID(), workflowId: key, ownerId: 'o', attempt: 1 } },
    createdAt,
    attempts: 0,
  };
}

/**
 * JSON that users send and services answer, with what databases like to reinterpret: objects
 * shaped like a MongoDB DBRef or extended JSON, names with "." or a leading "$" or NUL, NUL
 * and line separators in strings, keys in an order that is not sorted.
 */
const USER_JSON = {
  zeta: 1,
  alpha: 2,
  ref: { $ref: 'users', $id: 42 },
  refWithDb: { $ref: 'users', $id: 'abc', $db: 'other', extra: true },
  'dotted.key': { 'a.b.c': 1 },
  $set: { $where: 'sleep(1)', $date: '2020-01-01T00:00:00Z', $oid: '5f0000000000000000000000' },
  'nul\u0000key': 'nul\u0000value',
  _id: 'not-an-id',
  list: [{ $ref: 'x', $id: { $numberLong: '1' } }, null, 'text', 1.5, true, [], {}],
  text: 'line\u2028separator \ud83d\ude00',
};

/** Byte length of a value's JSON text. */
const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

/**
 * The repository contract: the exact semantics every store adapter must have, checked
 * against memory always and against each durable store when its server is reachable. Every
 * test uses its own random owner, so the suite can share a database with other runs. Times
 * the caller gives are fixed, far in the past or the future as needed; leases and locks run
 * on the store's clock, so those tests read it (`store.now()`) and expire a lease by taking
 * one of 0 ms, never by waiting.
 */
export function describeStoreContract(name: string, open: () => Promise<Store>, options: { skip?: string } = {}): void {
  describe(`store contract: ${name}`, { skip: options.skip }, () => {
    let store: Store;
    const owner = () => `owner-${randomUUID()}`;
    /** Asserts `lease` is `ms` after a store time between `from` and `to`. */
    const assertLease = (lease: Date | undefined, ms: number, from: Date, to: Date, message?: string) =>
      assert.ok(lease && lease.getTime() - ms >= from.getTime() && lease.getTime() - ms <= to.getTime(), message ?? `lease ${lease?.toISOString()} is ${ms} ms after the store's time`);
    before(async () => {
      store = await open();
      await store.init();
      await store.init(); // idempotent
    });
    after(async () => store?.close());

    describe('WorkflowRepo', () => {
      it('creates, reads back a copy, and refuses a duplicate id per owner only', async () => {
        const o = owner();
        const wf = workflow(o, 'w1', { trigger: { type: 'periodic', interval: '10s', status: 'idle', nextRunAt: at(10_000) } });
        await store.workflows.create(wf);
        const read = await store.workflows.get(o, 'w1');
        assert.deepEqual(read, wf);
        read!.name = 'changed';
        assert.equal((await store.workflows.get(o, 'w1'))?.name, 'w1', 'reads are copies');
        await assert.rejects(store.workflows.create(wf), ConflictError);
        await store.workflows.create(workflow(owner(), 'w1'));
        assert.equal(await store.workflows.get(owner(), 'w1'), null);
      });

      it('lists by workflowId with an opaque cursor, and rejects a forged cursor', async () => {
        const o = owner();
        for (const id of ['c', 'a', 'e', 'b', 'd']) await store.workflows.create(workflow(o, id));
        const first = await store.workflows.list(o, { limit: 2 });
        assert.deepEqual(first.items.map((w) => w.workflowId), ['a', 'b']);
        const second = await store.workflows.list(o, { limit: 2, cursor: first.nextCursor! });
        assert.deepEqual(second.items.map((w) => w.workflowId), ['c', 'd']);
        const last = await store.workflows.list(o, { limit: 2, cursor: second.nextCursor! });
        assert.deepEqual(last.items.map((w) => w.workflowId), ['e']);
        assert.equal(last.nextCursor, undefined);
        await assert.rejects(store.workflows.list(o, { limit: 2, cursor: '!!not-a-cursor' }), ValidationError);
      });

      it('lists only the workflows whose id starts with a prefix, paginated, literally', async () => {
        const o = owner();
        for (const id of ['rep-a', 'rep-b', 'rep-c', 'report', 'rex', 'r_p-x', 'Rep-z']) await store.workflows.create(workflow(o, id));
        const ids = (p: { items: Workflow[] }) => p.items.map((w) => w.workflowId);
        const first = await store.workflows.list(o, { limit: 2 }, 'rep');
        const rest = await store.workflows.list(o, { limit: 10, cursor: first.nextCursor! }, 'rep');
        assert.deepEqual([...ids(first), ...ids(rest)], ['rep-a', 'rep-b', 'rep-c', 'report']);
        assert.deepEqual(ids(await store.workflows.list(o, { limit: 10 }, 'r_p')), ['r_p-x'], '_ is no wildcard');
        assert.deepEqual(ids(await store.workflows.list(o, { limit: 10 }, 'nothing')), []);
      });

      it('replaces with optimistic concurrency and moves the hook index with the workflow', async () => {
        const o = owner();
        const hookA = `hook-${randomUUID()}`;
        const hookB = `hook-${randomUUID()}`;
        await store.workflows.create(workflow(o, 'w', { trigger: { type: 'webhook', status: 'idle', hookId: hookA, secretHash: 'h' } }));
        assert.equal((await store.workflows.findByHookId(hookA))?.workflowId, 'w');
        const next = workflow(o, 'w', { version: 2, name: 'renamed', trigger: { type: 'webhook', status: 'idle', hookId: hookB, secretHash: 'h2' } });
        await store.workflows.replace(next, 1);
        assert.equal((await store.workflows.get(o, 'w'))?.version, 2);
        assert.equal(await store.workflows.findByHookId(hookA), null, 'the rotated hook id no longer resolves');
        assert.equal((await store.workflows.findByHookId(hookB))?.name, 'renamed');
        await assert.rejects(store.workflows.replace({ ...next, version: 3 }, 1), ConflictError);
        await assert.rejects(store.workflows.replace(workflow(o, 'missing', { version: 2 }), 1), NotFoundError);
        await assert.rejects(store.workflows.create(workflow(owner(), 'x', { trigger: { type: 'webhook', status: 'idle', hookId: hookB } })), ConflictError, 'hook ids are unique');
        assert.equal(await store.workflows.delete(o, 'w'), true);
        assert.equal(await store.workflows.delete(o, 'w'), false);
        assert.equal(await store.workflows.findByHookId(hookB), null);
      });

      it('refuses a hook id in use with the same error code on every store, on create and on replace', async () => {
        const hookId = `hook-${randomUUID()}`;
        await store.workflows.create(workflow(owner(), 'w', { trigger: { type: 'webhook', status: 'idle', hookId, secretHash: 'h' } }));
        const o = owner();
        const collision = { name: 'ConflictError', code: 'hook_conflict' };
        await assert.rejects(store.workflows.create(workflow(o, 'w', { trigger: { type: 'webhook', status: 'idle', hookId, secretHash: 'h' } })), collision);
        await store.workflows.create(workflow(o, 'w', { trigger: { type: 'webhook', status: 'idle', hookId: `hook-${randomUUID()}`, secretHash: 'h' } }));
        await assert.rejects(store.workflows.replace(workflow(o, 'w', { version: 2, trigger: { type: 'webhook', status: 'idle', hookId, secretHash: 'h' } }), 1), collision);
      });

      it('keeps the runtime trigger status and its holder on replace, so an edit never rewinds a running workflow', async () => {
        const o = owner();
        await store.workflows.create(workflow(o, 'w'));
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', 'run-1', ['idle'], 'busy', at(1)), true);
        await store.workflows.replace(workflow(o, 'w', { version: 2, name: 'edited' }), 1);
        const read = await store.workflows.get(o, 'w');
        assert.equal(read?.name, 'edited');
        assert.equal(read?.trigger.status, 'busy');
        assert.equal(read?.trigger.executionId, 'run-1');
      });

      it('never rewinds a schedule the scheduler advanced: a replace keeps nextRunAt unless the schedule itself changed', async () => {
        const o = owner();
        const t = (s: number) => new Date(Date.UTC(2000, 0, 1, 0, 0, s));
        const periodic = (interval: string, nextRunAt: Date) => ({ type: 'periodic' as const, interval, status: 'idle' as const, nextRunAt });
        await store.workflows.create(workflow(o, 'w', { trigger: periodic('10s', t(10)) }));

        // An edit read the workflow, the scheduler emitted the due run and advanced it, then the edit wrote its copy back.
        const stale = (await store.workflows.get(o, 'w'))!;
        assert.equal(await store.workflows.advanceSchedule(o, 'w', t(10), t(20)), true);
        await store.workflows.replace({ ...stale, name: 'edited', version: 2 }, 1);
        let read = await store.workflows.get(o, 'w');
        assert.equal(read?.name, 'edited');
        assert.equal(read?.trigger.nextRunAt?.getTime(), t(20).getTime(), 'the due time already emitted is not due again');

        // The same inside a unit of work, with the advance committed between its read and its write.
        let advanced = false;
        await store.uow.run(async (tx) => {
          const current = (await tx.workflows.get(o, 'w'))!;
          if (!advanced) {
            advanced = true;
            assert.equal(await store.workflows.advanceSchedule(o, 'w', t(20), t(30)), true);
          }
          await tx.workflows.replace({ ...current, name: 'edited again', version: current.version + 1 }, current.version);
        });
        read = await store.workflows.get(o, 'w');
        assert.equal(read?.name, 'edited again');
        assert.equal(read?.trigger.nextRunAt?.getTime(), t(30).getTime());

        // A new schedule is the edit's to set.
        await store.workflows.replace({ ...read!, trigger: periodic('1h', t(3_600)), version: read!.version + 1 }, read!.version);
        read = await store.workflows.get(o, 'w');
        assert.deepEqual(read?.trigger, periodic('1h', t(3_600)));
      });

      it('keeps catchUp with the trigger, and a replace sets or clears it', async () => {
        const o = owner();
        const wf = workflow(o, 'daily', { trigger: { type: 'cron', cron: '0 2 * * *', catchUp: 'latest', status: 'idle', nextRunAt: at(60_000) } });
        await store.workflows.create(wf);
        assert.deepEqual((await store.workflows.get(o, 'daily'))?.trigger, wf.trigger);
        await store.workflows.replace({ ...wf, trigger: { type: 'cron', cron: '0 2 * * *', status: 'idle', nextRunAt: at(60_000) }, version: 2 }, 1);
        assert.deepEqual((await store.workflows.get(o, 'daily'))?.trigger, { type: 'cron', cron: '0 2 * * *', status: 'idle', nextRunAt: at(60_000) });
        await store.workflows.replace({ ...wf, trigger: { type: 'periodic', interval: '1h', catchUp: 'none', status: 'idle', nextRunAt: at(60_000) }, version: 3 }, 2);
        assert.deepEqual((await store.workflows.get(o, 'daily'))?.trigger, { type: 'periodic', interval: '1h', catchUp: 'none', status: 'idle', nextRunAt: at(60_000) });
      });

      it('sets the trigger status only from the expected statuses', async () => {
        const o = owner();
        await store.workflows.create(workflow(o, 'w'));
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', 'run-1', ['busy'], 'idle', at(1)), false);
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', 'run-1', ['idle'], 'busy', at(1)), true);
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', 'run-1', ['idle'], 'busy', at(2)), false);
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', 'run-1', ['busy', 'pending'], 'pending', at(3)), true);
        assert.equal((await store.workflows.get(o, 'w'))?.trigger.status, 'pending');
        assert.equal(await store.workflows.setTriggerStatus(o, 'nope', 'run-1', ['idle'], 'busy', at(4)), false);
      });

      it('lets only the run holding the trigger move it, so a run never frees a workflow recreated under the same id', async () => {
        const o = owner();
        const accept = async () => {
          const wf = (await store.workflows.get(o, 'w'))!;
          return store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: at(1) }, DEFAULT_TOPICS, at(1)));
        };
        await store.workflows.create(workflow(o, 'w'));
        const old = await accept();
        assert.equal((await store.workflows.get(o, 'w'))?.trigger.executionId, old.executionId, 'the accepted run holds the trigger');
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', 'another-run', ['busy'], 'idle', at(2)), false, 'held by another run');

        // Deleted while its run goes, recreated under the same id, triggered again.
        assert.equal(await store.workflows.delete(o, 'w'), true);
        await store.workflows.create(workflow(o, 'w'));
        const current = await accept();
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', old.executionId, ['busy', 'pending'], 'idle', at(3)), false, 'the old run finishing');
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', old.executionId, ['pending'], 'busy', at(3)), false, 'the old run retrying');
        let read = await store.workflows.get(o, 'w');
        assert.deepEqual([read?.trigger.status, read?.trigger.executionId], ['busy', current.executionId]);

        assert.equal(await store.workflows.setTriggerStatus(o, 'w', current.executionId, ['busy'], 'pending', at(4)), true, 'waiting for a retry, still held');
        read = await store.workflows.get(o, 'w');
        assert.deepEqual([read?.trigger.status, read?.trigger.executionId], ['pending', current.executionId]);
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', current.executionId, ['pending'], 'idle', at(5)), true);
        read = await store.workflows.get(o, 'w');
        assert.deepEqual([read?.trigger.status, read?.trigger.executionId], ['idle', undefined], 'released');
        assert.equal(await store.workflows.setTriggerStatus(o, 'w', 'another-run', ['idle'], 'busy', at(6)), true, 'a free trigger is anyone\'s');
      });

      it('accepts a run in one write on its own: trigger busy held by the run, execution and request inserted, or nothing at all', async () => {
        const o = owner();
        await store.workflows.create(workflow(o, 'w', { version: 3 }));
        const created = (await store.workflows.get(o, 'w'))!.createdAt;
        const run = (version?: number, createdAt = created) => {
          const e = execution(o, 'w', { createdAt: at(1), updatedAt: at(1) });
          const m = executionRequestedMessage(e, DEFAULT_TOPICS, at(1));
          return { e, m, accepted: store.workflows.acceptRun(e, m, version === undefined ? undefined : { version, createdAt }) };
        };
        const stale = run(2);
        assert.equal(await stale.accepted, false, 'another version: refused');
        assert.equal(await store.executions.get(stale.e.executionId), null);
        const recreated = run(3, new Date(created.getTime() - 60_000));
        assert.equal(await recreated.accepted, false, 'the same version of a workflow deleted and created again since: refused');
        assert.equal(await store.executions.get(recreated.e.executionId), null);

        const first = run(3);
        assert.equal(await first.accepted, true);
        let read = await store.workflows.get(o, 'w');
        assert.deepEqual([read?.trigger.status, read?.trigger.executionId, read?.updatedAt], ['busy', first.e.executionId, at(1)]);
        assert.equal((await store.executions.get(first.e.executionId))?.status, 'queued');

        const second = run();
        assert.equal(await second.accepted, false, 'busy: refused');
        assert.equal(await store.executions.get(second.e.executionId), null, 'and nothing written');
        read = await store.workflows.get(o, 'w');
        assert.equal(read?.trigger.executionId, first.e.executionId);

        const missing = execution(o, 'nope');
        assert.equal(await store.workflows.acceptRun(missing, executionRequestedMessage(missing, DEFAULT_TOPICS, at(1))), false);
        assert.equal(await store.executions.get(missing.executionId), null);

        // All or nothing: an insert that fails leaves the trigger as it was.
        await store.workflows.create(workflow(o, 'w2'));
        const clash = { ...execution(o, 'w2'), executionId: first.e.executionId };
        await assert.rejects(store.workflows.acceptRun(clash, executionRequestedMessage(clash, DEFAULT_TOPICS, at(1))), ConflictError);
        read = await store.workflows.get(o, 'w2');
        assert.deepEqual([read?.trigger.status, read?.trigger.executionId], ['idle', undefined]);

        // The request went with the run: the relay finds it (and only it). Lock 0: nobody else's claim is held up.
        const batch = await store.outbox.claimBatch(0, 100_000);
        const tried = new Set([first, second, stale, recreated].map((r) => r.e.executionId).concat(missing.executionId));
        const requests = batch.messages.filter((m) => tried.has(String(m.event.data.executionId)));
        assert.deepEqual(requests.map((m) => m.id), [first.m.id]);
      });

      it('of concurrent accepts of one idle workflow, exactly one wins', async () => {
        const o = owner();
        await store.workflows.create(workflow(o, 'w'));
        const runs = Array.from({ length: 8 }, () => execution(o, 'w'));
        const asRead = (await store.workflows.get(o, 'w'))!;
        const results = await Promise.all(runs.map((e) => store.workflows.acceptRun(e, executionRequestedMessage(e, DEFAULT_TOPICS, at(1)), asRead)));
        assert.equal(results.filter(Boolean).length, 1);
        const winner = runs[results.indexOf(true)]!;
        assert.equal((await store.workflows.get(o, 'w'))?.trigger.executionId, winner.executionId);
        const stored = await Promise.all(runs.map((e) => store.executions.get(e.executionId)));
        assert.deepEqual(stored.map((e) => e?.executionId ?? null), runs.map((e) => (e === winner ? e.executionId : null)));
      });

      it('accepts many runs in one write, each on acceptRun\'s terms, one per workflow; a refused insert writes nothing', async () => {
        const o = owner();
        for (const id of ['idle', 'twice', 'busy', 'stale']) await store.workflows.create(workflow(o, id, { version: 2 }));
        const read = async (id: string) => (await store.workflows.get(o, id))!;
        const busy = execution(o, 'busy');
        assert.equal(await store.workflows.acceptRun(busy, executionRequestedMessage(busy, DEFAULT_TOPICS, at(1))), true);
        const acceptance = async (id: string, asRead?: WorkflowRevision) => {
          const e = execution(o, id, { createdAt: at(2), updatedAt: at(2) });
          return { execution: e, request: executionRequestedMessage(e, DEFAULT_TOPICS, at(2)), asRead: asRead ?? (await read(id)) };
        };
        const batch = [
          await acceptance('idle'),
          await acceptance('twice'),
          await acceptance('busy'),
          await acceptance('stale', { version: 1, createdAt: (await read('stale')).createdAt }),
          await acceptance('twice'),
          await acceptance('missing', { version: 2, createdAt: at(0) }),
        ];
        const accepted = await store.workflows.acceptRuns(batch);
        const twice = batch.filter((a) => a.execution.workflowId === 'twice').map((a) => a.execution.executionId);
        assert.equal(accepted.filter((id) => twice.includes(id)).length, 1, 'one run of the workflow named twice');
        const expected = [batch[0]!.execution.executionId, ...accepted.filter((id) => twice.includes(id))];
        assert.deepEqual([...accepted].sort(), [...expected].sort(), 'the idle workflow\'s and one of the twice-named; not the busy, stale or missing one');
        for (const a of batch) {
          const won = accepted.includes(a.execution.executionId);
          assert.equal((await store.executions.get(a.execution.executionId))?.status ?? null, won ? 'queued' : null, `${a.execution.workflowId}: the execution exactly when accepted`);
          if (won) assert.deepEqual([(await read(a.execution.workflowId)).trigger.status, (await read(a.execution.workflowId)).trigger.executionId], ['busy', a.execution.executionId]);
        }
        assert.equal((await read('busy')).trigger.executionId, busy.executionId, 'the busy workflow still held by its run');
        assert.equal((await read('stale')).trigger.status, 'idle');
        const relayed = await store.outbox.claimBatch(0, 100_000);
        const mine = new Set(batch.map((a) => a.request.id));
        assert.deepEqual(
          relayed.messages.filter((m) => mine.has(m.id)).map((m) => m.id),
          batch.filter((a) => accepted.includes(a.execution.executionId)).map((a) => a.request.id),
          'the requests of the accepted runs, in the order given',
        );

        // A refused insert (an execution id that exists) fails the call: nothing of it is written.
        await store.workflows.create(workflow(o, 'clean', { version: 2 }));
        const fresh = await acceptance('clean');
        const clash = await acceptance('stale');
        clash.execution = { ...clash.execution, executionId: batch[0]!.execution.executionId };
        await assert.rejects(store.workflows.acceptRuns([fresh, clash]), ConflictError);
        assert.equal(await store.executions.get(fresh.execution.executionId), null);
        assert.deepEqual([(await read('clean')).trigger.status, (await read('stale')).trigger.status], ['idle', 'idle']);
        assert.deepEqual(await store.workflows.acceptRuns([]), []);
      });

      it('claims due scheduled workflows under a lease, and advances the schedule by compare-and-set', async () => {
        const o = owner();
        // Far in the past, so these are due before anything another test leaves behind.
        const past = new Date('2000-01-01T00:00:00Z');
        const due = (id: string, ms: number, enabled = true) =>
          workflow(o, id, { enabled, trigger: { type: 'periodic', interval: '1s', status: 'idle', nextRunAt: new Date(past.getTime() + ms) } });
        await store.workflows.create(due('late', 0));
        await store.workflows.create(due('later', 500));
        await store.workflows.create(due('disabled', 0, false));
        await store.workflows.create(due('future', Date.UTC(9999, 0, 1) - past.getTime()));
        const claim = async (leaseMs: number) => (await store.workflows.claimDueScheduled(leaseMs, 1_000)).filter((w) => w.ownerId === o);
        const from = await store.now();
        const expired = await claim(0);
        assert.deepEqual(expired.map((w) => w.workflowId), ['late', 'later'], 'due and enabled only, oldest first');
        for (const w of expired) assertLease(w.trigger.leaseUntil, 0, from, await store.now());
        const claimed = await claim(60_000);
        assert.deepEqual(claimed.map((w) => w.workflowId), ['late', 'later'], 'an expired lease can be claimed again');
        for (const w of claimed) assertLease(w.trigger.leaseUntil, 60_000, from, await store.now());
        assert.deepEqual(await claim(60_000), [], 'a live lease keeps a second claimer off');

        const dueAt = new Date(past.getTime());
        assert.equal(await store.workflows.advanceSchedule(o, 'late', new Date(dueAt.getTime() + 1), at(0)), false, 'wrong dueAt');
        assert.equal(await store.workflows.advanceSchedule(o, 'late', dueAt, new Date(past.getTime() + 1_000)), true);
        assert.equal(await store.workflows.advanceSchedule(o, 'late', dueAt, new Date(past.getTime() + 2_000)), false, 'only once');
        const advanced = await store.workflows.get(o, 'late');
        assert.equal(advanced?.trigger.nextRunAt?.getTime(), past.getTime() + 1_000);
        assert.equal(advanced?.trigger.leaseUntil, undefined, 'the lease is released');
      });

      it('lists the workflows that keep fewer runs, across owners, a page at a time', async () => {
        const before = await store.workflows.withRunLimit(undefined, 100_000);
        const o = `${owner()}`;
        await store.workflows.create(workflow(o, 'b', { retention: { maxRuns: 5 } }));
        await store.workflows.create(workflow(o, 'a', { retention: { maxRuns: 2 } }));
        await store.workflows.create(workflow(o, 'c'));
        const all = await store.workflows.withRunLimit(undefined, 100_000);
        assert.equal(all.length, before.length + 2);
        const mine = all.filter((w) => w.ownerId === o);
        assert.deepEqual(mine, [{ ownerId: o, workflowId: 'a', maxRuns: 2 }, { ownerId: o, workflowId: 'b', maxRuns: 5 }]);
        assert.deepEqual(await store.workflows.withRunLimit({ ownerId: o, workflowId: 'a', maxRuns: 2 }, 1).then((p) => p[0]), mine[1]);
        assert.deepEqual((await store.workflows.get(o, 'a'))?.retention, { maxRuns: 2 });
        const wf = (await store.workflows.get(o, 'a'))!;
        const { retention: _dropped, ...without } = wf;
        await store.workflows.replace({ ...without, version: 2 }, 1);
        assert.equal((await store.workflows.get(o, 'a'))?.retention, undefined, 'a replace without it removes it');
      });

      it('tells when the next enabled scheduled workflow falls due', async () => {
        const o = owner();
        // 1980: earlier than anything another test leaves behind.
        const t = (s: number) => new Date(Date.UTC(1980, 0, 1, 0, 0, s));
        const scheduled = (id: string, s: number, enabled = true) =>
          workflow(o, id, { enabled, trigger: { type: 'periodic', interval: '10s', status: 'idle', nextRunAt: t(s) } });
        await store.workflows.create(scheduled('off', 5, false));
        await store.workflows.create(scheduled('first', 10));
        await store.workflows.create(scheduled('second', 20));
        assert.equal((await store.workflows.nextDueAt(t(0)))?.getTime(), t(10).getTime(), 'disabled workflows do not count');
        assert.equal((await store.workflows.nextDueAt(t(10)))?.getTime(), t(20).getTime(), 'strictly after');
        const far = await store.workflows.nextDueAt(new Date('9999-01-01T00:00:00Z'));
        assert.equal(far, null);
      });

      it('never hands the same due workflow to two concurrent claimers', async () => {
        const o = owner();
        const past = new Date('2000-01-01T00:00:00Z');
        for (let i = 0; i < 30; i++) {
          await store.workflows.create(workflow(o, `w${i}`, { trigger: { type: 'periodic', interval: '1s', status: 'idle', nextRunAt: past } }));
        }
        const batches = await Promise.all([1, 2, 3].map(() => store.workflows.claimDueScheduled(60_000, 1_000)));
        const mine = batches.flat().filter((w) => w.ownerId === o).map((w) => w.workflowId);
        assert.equal(mine.length, 30);
        assert.equal(new Set(mine).size, 30);
      });
    });

    describe('ExecutionRepo', () => {
      it('inserts, refuses a duplicate id, and lists newest first with a cursor', async () => {
        const o = owner();
        const made: Execution[] = [];
        for (let i = 0; i < 5; i++) {
          const e = execution(o, 'w', { createdAt: at(i * 1_000) });
          await store.executions.insert(e);
          made.push(e);
        }
        await assert.rejects(store.executions.insert(made[0]!), ConflictError);
        assert.deepEqual(await store.executions.get(made[0]!.executionId), made[0]);
        const page1 = await store.executions.listByWorkflow(o, 'w', { limit: 3 });
        assert.deepEqual(page1.items.map((e) => e.executionId), [made[4], made[3], made[2]].map((e) => e!.executionId));
        const page2 = await store.executions.listByWorkflow(o, 'w', { limit: 3, cursor: page1.nextCursor! });
        assert.deepEqual(page2.items.map((e) => e.executionId), [made[1], made[0]].map((e) => e!.executionId));
        assert.equal(page2.nextCursor, undefined);
        assert.deepEqual((await store.executions.listByWorkflow(owner(), 'w', { limit: 3 })).items, []);
      });

      it('refuses an execution cursor it did not issue', async () => {
        const o = owner();
        await store.executions.insert(execution(o, 'w'));
        for (const forged of ['!!not-a-cursor', encodeCursor('no-separator'), encodeCursor('yesterday:some-id')]) {
          await assert.rejects(store.executions.listByWorkflow(o, 'w', { limit: 2, cursor: forged }), ValidationError, forged);
        }
      });

      it('lists an owner\'s runs across workflows, newest first, filtered by workflow, status and creation time', async () => {
        const o = owner();
        const runs = [
          execution(o, 'a', { createdAt: at(1_000), status: 'completed' }),
          execution(o, 'b', { createdAt: at(2_000), status: 'failed' }),
          execution(o, 'a', { createdAt: at(3_000), status: 'failed' }),
          execution(o, 'b', { createdAt: at(3_000), status: 'queued' }),
          execution(o, 'a', { createdAt: at(4_000), status: 'pending_retry' }),
        ];
        for (const e of runs) await store.executions.insert(e);
        await store.executions.insert(execution(owner(), 'a', { createdAt: at(2_500) }));
        const ids = (page: { items: Execution[] }) => page.items.map((e) => e.executionId);
        const newestFirst = [...runs].sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (x.executionId < y.executionId ? 1 : -1));

        const first = await store.executions.listRuns(o, {}, { limit: 3 });
        const rest = await store.executions.listRuns(o, {}, { limit: 3, cursor: first.nextCursor! });
        assert.deepEqual([...ids(first), ...ids(rest)], newestFirst.map((e) => e.executionId));
        assert.equal(rest.nextCursor, undefined);

        const failedOrRetrying = await store.executions.listRuns(o, { statuses: ['failed', 'pending_retry'] }, { limit: 10 });
        assert.deepEqual(ids(failedOrRetrying), [runs[4], runs[2], runs[1]].map((e) => e!.executionId));
        const ofA = await store.executions.listRuns(o, { workflowId: 'a', statuses: ['failed'] }, { limit: 10 });
        assert.deepEqual(ids(ofA), [runs[2]!.executionId]);
        const window = await store.executions.listRuns(o, { createdFrom: at(2_000), createdBefore: at(3_000) }, { limit: 10 });
        assert.deepEqual(ids(window), [runs[1]!.executionId], 'from is inclusive, before is exclusive');
        const windowPaged = await store.executions.listRuns(o, { createdFrom: at(2_000) }, { limit: 1 });
        const windowNext = await store.executions.listRuns(o, { createdFrom: at(2_000) }, { limit: 10, cursor: windowPaged.nextCursor! });
        assert.equal(ids(windowPaged).length + ids(windowNext).length, 4, 'a cursor keeps the filter');
        assert.deepEqual(ids(await store.executions.listRuns(o, { statuses: [] }, { limit: 10 })), [], 'no status matches an empty list');
        await assert.rejects(store.executions.listRuns(o, {}, { limit: 3, cursor: 'bm90LWEtY3Vyc29y' }), ValidationError);
      });

      it('gives the newest runs of each workflow asked for, for an outcome strip', async () => {
        const o = owner();
        const made: Execution[] = [];
        for (let i = 0; i < 4; i++) {
          const e = execution(o, 'a', { createdAt: at(i * 1_000), status: i % 2 ? 'failed' : 'completed', finishedAt: at(i * 1_000 + 10) });
          await store.executions.insert(e);
          made.push(e);
        }
        const b = execution(o, 'b', { createdAt: at(500) });
        await store.executions.insert(b);
        await store.executions.insert(execution(owner(), 'c'));
        const recent = await store.executions.recentRuns(o, ['a', 'b', 'c'], 3);
        assert.deepEqual(recent, {
          a: [made[3], made[2], made[1]].map((e) => ({ executionId: e!.executionId, status: e!.status, createdAt: e!.createdAt, finishedAt: e!.finishedAt })),
          b: [{ executionId: b.executionId, status: 'queued', createdAt: b.createdAt }],
          c: [],
        });
        assert.deepEqual(await store.executions.recentRuns(o, [], 3), {});
      });

      it('aggregates an owner\'s runs in a window: buckets by status, nearest-rank durations, busiest and most failing', async () => {
        const o = owner();
        const minute = 60_000;
        const run = (workflowId: string, createdMs: number, status: Execution['status'], durationMs?: number) =>
          execution(o, workflowId, {
            createdAt: at(createdMs),
            status,
            ...(durationMs === undefined ? {} : { startedAt: at(createdMs + 5), finishedAt: at(createdMs + 5 + durationMs) }),
          });
        const runs = [
          run('busy', 0, 'completed', 100),
          run('busy', 10_000, 'completed', 200),
          run('busy', minute + 1, 'failed', 300),
          run('busy', minute + 2, 'running'),
          run('flaky', minute + 3, 'failed', 400),
          run('flaky', 3 * minute, 'pending_retry'),
          run('quiet', 3 * minute + 1, 'completed', 500),
          run('zeta', 3 * minute + 2, 'failed', 1_000),
        ];
        for (const e of runs) await store.executions.insert(e);
        await store.executions.insert(run('busy', -1, 'completed', 1)); // before the window
        await store.executions.insert(run('busy', 5 * minute, 'completed', 1)); // at its end: excluded
        await store.executions.insert(execution(owner(), 'busy', { createdAt: at(0), status: 'pending_retry' })); // someone else's
        await store.executions.insert(execution(o, 'old', { createdAt: at(-100 * minute), status: 'pending_retry' }));

        const stats = await store.executions.runStats(o, { from: at(0), to: at(5 * minute), bucketMs: minute, top: 2 });
        const counts = (c: Partial<Record<Execution['status'], number>>) => ({ queued: 0, running: 0, waiting: 0, pending_retry: 0, completed: 0, failed: 0, cancelled: 0, ...c });
        assert.deepEqual(stats.buckets, [
          { start: at(0), counts: counts({ completed: 2 }) },
          { start: at(minute), counts: counts({ failed: 2, running: 1 }) },
          { start: at(3 * minute), counts: counts({ pending_retry: 1, completed: 1, failed: 1 }) },
        ]);
        assert.deepEqual(stats.totals, counts({ completed: 3, failed: 3, running: 1, pending_retry: 1 }));
        // Six finished: 100 200 300 400 500 1000; rank ceil(0.5*6)=3 and ceil(0.95*6)=6.
        assert.deepEqual(stats.durationMs, { p50: 300, p95: 1_000 });
        assert.deepEqual(stats.busiest, [
          { workflowId: 'busy', runs: 4 },
          { workflowId: 'flaky', runs: 2 },
        ]);
        assert.deepEqual(stats.mostFailing, [
          { workflowId: 'flaky', failed: 1, runs: 2 },
          { workflowId: 'busy', failed: 1, runs: 4 },
        ].sort((x, y) => (x.workflowId < y.workflowId ? -1 : 1)));
        assert.equal(stats.waitingForRetry, 2, 'every pending retry of the owner, in the window or not');

        const empty = await store.executions.runStats(owner(), { from: at(0), to: at(minute), bucketMs: minute, top: 5 });
        assert.deepEqual(empty, { buckets: [], totals: counts({}), durationMs: null, busiest: [], mostFailing: [], waitingForRetry: 0 });
      });

      it('claims a queued run for its attempt only, once; takes over a running one only after its lease', async () => {
        const e = execution(owner(), 'w');
        await store.executions.insert(e);
        assert.equal(await store.executions.claimForRun(e.executionId, 2, 60_000), null, 'wrong attempt');
        const from = await store.now();
        const claimed = await store.executions.claimForRun(e.executionId, 1, 60_000);
        const to = await store.now();
        assert.equal(claimed?.status, 'running');
        assertLease(claimed?.startedAt, 0, from, to, 'started at the store\'s time');
        assert.equal(claimed?.leaseUntil?.getTime(), claimed!.startedAt!.getTime() + 60_000);
        assert.equal(claimed?.updatedAt.getTime(), claimed?.startedAt?.getTime());
        assert.equal(await store.executions.claimForRun(e.executionId, 1, 60_000), null, 'live lease');
        assert.equal(await store.executions.setLease(e.executionId, 1, 0), true, 'a lease of 0 ms has run out by the next statement');
        const takeover = await store.executions.claimForRun(e.executionId, 1, 60_000);
        assert.equal(takeover?.startedAt?.getTime(), claimed?.startedAt?.getTime(), 'startedAt is kept from the first claim');
        assert.equal(await store.executions.claimForRun(randomUUID(), 1, 60_000), null);
      });

      it('claims many runs in one write, each as claimForRun would alone', async () => {
        const o = owner();
        const queued = execution(o, 'w');
        const leased = execution(o, 'w');
        const expired = execution(o, 'w');
        const finished = execution(o, 'w', { status: 'completed' });
        for (const e of [queued, leased, expired, finished]) await store.executions.insert(e);
        await store.executions.claimForRun(leased.executionId, 1, 60_000);
        const first = await store.executions.claimForRun(expired.executionId, 1, 60_000);
        await store.executions.setLease(expired.executionId, 1, 0);

        const claimed = await store.executions.claimManyForRun(
          [
            { executionId: queued.executionId, attempt: 1 },
            { executionId: queued.executionId, attempt: 1 },
            { executionId: leased.executionId, attempt: 1 },
            { executionId: expired.executionId, attempt: 1 },
            { executionId: finished.executionId, attempt: 1 },
            { executionId: randomUUID(), attempt: 1 },
          ],
          60_000,
        );
        const byId = new Map(claimed.map((e) => [e.executionId, e]));
        assert.equal(claimed.length, 2, 'each at most once');
        assert.deepEqual([...byId.keys()].sort(), [queued.executionId, expired.executionId].sort(), 'the queued one and the one whose lease ran out');
        assert.equal(byId.get(queued.executionId)?.status, 'running');
        assert.equal(byId.get(expired.executionId)?.startedAt?.getTime(), first?.startedAt?.getTime(), 'startedAt kept from the first claim');
        assert.equal(await store.executions.claimForRun(queued.executionId, 1, 60_000), null, 'now under a live lease');
        assert.deepEqual(await store.executions.claimManyForRun([{ executionId: queued.executionId, attempt: 2 }], 60_000), [], 'wrong attempt');
        assert.deepEqual(await store.executions.claimManyForRun([], 60_000), []);
        const again = execution(o, 'w');
        await store.executions.insert(again);
        const twice = { executionId: again.executionId, attempt: 1 };
        assert.equal((await store.executions.claimManyForRun([twice, twice], 0)).length, 1, 'listed twice, claimed once even when its lease of 0 has run out at once');
      });

      it('saves steps and sets the lease only while running on the attempt', async () => {
        const e = execution(owner(), 'w');
        await store.executions.insert(e);
        const step = { index: 0, type: 'log' as const, status: 'succeeded' as const, attempt: 1, output: { message: 'hi' }, startedAt: at(1), finishedAt: at(2) };
        assert.equal(await store.executions.saveStep(e.executionId, 1, step, 5_000), false, 'not running yet');
        await store.executions.claimForRun(e.executionId, 1, 1_000);
        let from = await store.now();
        assert.equal(await store.executions.saveStep(e.executionId, 1, step, 5_000), true);
        let read = await store.executions.get(e.executionId);
        assert.deepEqual(read?.steps[0], step);
        assertLease(read?.leaseUntil, 5_000, from, await store.now());
        from = await store.now();
        assert.equal(await store.executions.setLease(e.executionId, 1, 9_000), true);
        assertLease((await store.executions.get(e.executionId))?.leaseUntil, 9_000, from, await store.now());
        assert.equal(await store.executions.setLease(e.executionId, 2, 9_000), false);
        read = await store.executions.get(e.executionId);
        assert.equal(read?.attempt, 1);
      });

      it('saves the steps of many runs in one write, each as saveStep would alone', async () => {
        const o = owner();
        const [first, second, queued] = [execution(o, 'w'), execution(o, 'w'), execution(o, 'w')];
        for (const e of [first, second, queued]) await store.executions.insert(e);
        for (const e of [first, second]) await store.executions.claimForRun(e.executionId, 1, 1_000);
        const step = (message: string): Step => ({ index: 0, type: 'log', status: 'succeeded', attempt: 1, output: { message }, startedAt: at(1), finishedAt: at(2) });
        const from = await store.now();
        const saved = await store.executions.saveSteps(
          [
            { executionId: first.executionId, attempt: 1, step: step('first') },
            { executionId: second.executionId, attempt: 1, step: step('second') },
            { executionId: first.executionId, attempt: 1, step: step('listed twice: the first entry counts') },
            { executionId: queued.executionId, attempt: 1, step: step('not running') },
            { executionId: second.executionId, attempt: 2, step: step('another attempt') },
          ],
          5_000,
        );
        const to = await store.now();
        assert.deepEqual(saved.sort(), [first.executionId, second.executionId].sort());
        const [one, two, three] = await Promise.all([first, second, queued].map((e) => store.executions.get(e.executionId)));
        assert.deepEqual(one?.steps[0], step('first'));
        assert.deepEqual(two?.steps[0], step('second'));
        assert.equal(one?.updatedAt.getTime(), at(2).getTime(), 'updated when the step finished');
        assertLease(one?.leaseUntil, 5_000, from, to);
        assert.deepEqual(three?.steps, queued.steps, 'not running: left alone');
        assert.deepEqual(await store.executions.saveSteps([], 5_000), []);
      });

      it('finishes an attempt by compare-and-set, setting and clearing the right fields', async () => {
        const e = execution(owner(), 'w');
        await store.executions.insert(e);
        await store.executions.claimForRun(e.executionId, 1, 1_000);
        const due = new Date('2000-01-01T00:00:02Z');
        assert.equal(await store.executions.finishAttempt(e.executionId, 1, { status: 'pending_retry', at: at(10), nextAttemptAt: due, error: 'boom', retriesLeft: 2 }), true);
        let read = await store.executions.get(e.executionId);
        assert.equal(read?.status, 'pending_retry');
        assert.equal(read?.nextAttemptAt?.getTime(), due.getTime());
        assert.equal(read?.error, 'boom');
        assert.equal(read?.retriesLeft, 2);
        assert.equal(read?.leaseUntil, undefined);
        assert.equal(read?.finishedAt, undefined, 'a waiting retry is not finished');
        assert.equal(await store.executions.finishAttempt(e.executionId, 1, { status: 'failed', at: at(11), retriesLeft: 2 }), false, 'not running');

        const [requeued] = await store.uow.run((tx) => tx.executions.requeueDueRetries(10_000).then((all) => all.filter((x) => x.executionId === e.executionId)));
        assert.equal(requeued?.status, 'queued');
        assert.equal(requeued?.attempt, 2);
        assert.equal(requeued?.nextAttemptAt, undefined);
        await store.executions.claimForRun(e.executionId, 2, 1_000);
        const last = { index: 0, type: 'log' as const, status: 'succeeded' as const, attempt: 2, output: { message: 'hi' }, startedAt: at(2_100), finishedAt: at(2_400) };
        assert.equal(await store.executions.finishAttempt(e.executionId, 2, { status: 'completed', at: at(2_500), retriesLeft: 2, step: last }), true);
        read = await store.executions.get(e.executionId);
        assert.equal(read?.status, 'completed');
        assert.deepEqual(read?.steps[0], last, 'the last step is recorded with the outcome');
        assert.equal(read?.error, undefined, 'a success clears the last error');
        assert.equal(read?.finishedAt?.getTime(), at(2_500).getTime());
      });

      it('ends many attempts in one write, each as finishAttempt, setTriggerStatus and outbox.add would alone', async () => {
        const o = owner();
        /** A workflow with a run accepted (the trigger busy, held by it) and claimed. */
        const started = async (workflowId: string) => {
          await store.workflows.create(workflow(o, workflowId));
          const e = execution(o, workflowId);
          assert.equal(await store.workflows.acceptRun(e, executionRequestedMessage(e, DEFAULT_TOPICS, at(1))), true);
          await store.executions.claimForRun(e.executionId, 1, 60_000);
          return e;
        };
        const done = await started('done');
        const retrying = await started('retrying');
        const holder = await started('held');
        const notHolder = execution(o, 'held'); // running, but the trigger is another run's
        const queued = execution(o, 'done');
        for (const e of [notHolder, queued]) await store.executions.insert(e);
        await store.executions.claimForRun(notHolder.executionId, 1, 60_000);
        const step: Step = { index: 0, type: 'log', status: 'succeeded', attempt: 1, output: { message: 'hi' }, startedAt: at(2), finishedAt: at(3) };
        const end = (e: Execution, status: 'completed' | 'pending_retry' | 'failed', trigger: 'idle' | 'pending', extra: { nextAttemptAt?: Date; error?: string; step?: Step } = {}) => ({
          executionId: e.executionId,
          attempt: e.attempt,
          update: { status, at: at(10), retriesLeft: status === 'pending_retry' ? 2 : 3, ...extra },
          ownerId: o,
          workflowId: e.workflowId,
          trigger,
          message: runResultMessage(e, status, at(10), DEFAULT_TOPICS, extra.error, extra.nextAttemptAt),
        });
        const ends = [
          end(done, 'completed', 'idle', { step }),
          end(retrying, 'pending_retry', 'pending', { nextAttemptAt: at(5_000), error: 'boom' }),
          end(done, 'failed', 'idle', { error: 'listed twice: the first entry counts' }),
          end(notHolder, 'completed', 'idle'),
          end(queued, 'completed', 'idle'),
          end({ ...holder, attempt: 2 }, 'completed', 'idle'),
        ];

        const ended = await store.executions.endAttempts(ends);
        assert.deepEqual(ended.sort(), [done.executionId, retrying.executionId, notHolder.executionId].sort());
        const read = async (e: Execution) => store.executions.get(e.executionId);
        const [doneRun, retryRun, notHolderRun] = [await read(done), await read(retrying), await read(notHolder)];
        assert.deepEqual([doneRun?.status, doneRun?.finishedAt, doneRun?.leaseUntil, doneRun?.error], ['completed', at(10), undefined, undefined]);
        assert.deepEqual(doneRun?.steps[0], step, 'the last step is recorded with the outcome');
        assert.deepEqual([retryRun?.status, retryRun?.nextAttemptAt, retryRun?.error, retryRun?.retriesLeft, retryRun?.finishedAt], ['pending_retry', at(5_000), 'boom', 2, undefined]);
        assert.equal(notHolderRun?.status, 'completed');
        assert.equal((await read(queued))?.status, 'queued', 'not running: left alone');
        assert.equal((await read(holder))?.status, 'running', 'another attempt: left alone');
        const trigger = async (workflowId: string) => {
          const wf = await store.workflows.get(o, workflowId);
          return [wf?.trigger.status, wf?.trigger.executionId];
        };
        assert.deepEqual(await trigger('done'), ['idle', undefined], 'released');
        assert.deepEqual(await trigger('retrying'), ['pending', retrying.executionId], 'still held, waiting for the retry');
        assert.deepEqual(await trigger('held'), ['busy', holder.executionId], 'another run\'s trigger is left alone');
        // The result events of the attempts ended, once each; no other. Lock 0: nobody else's claim is held up.
        const mine = new Set(ends.map((e) => e.message.id));
        const results = (await store.outbox.claimBatch(0, 100_000)).messages.filter((m) => mine.has(m.id));
        assert.deepEqual(results.map((m) => m.id).sort(), [ends[0]!, ends[1]!, ends[3]!].map((e) => e.message.id).sort());

        // All or nothing: a message id already in the outbox fails the write and ends nothing.
        const next = await started('clash');
        const clash = { ...end(next, 'completed', 'idle'), message: { ...ends[0]!.message, id: ends[1]!.message.id } };
        const other = await started('other');
        await assert.rejects(store.executions.endAttempts([end(other, 'completed', 'idle'), clash]), ConflictError);
        assert.equal((await read(other))?.status, 'running');
        assert.deepEqual(await trigger('other'), ['busy', other.executionId]);
        assert.deepEqual(await store.executions.endAttempts([]), []);
      });

      it('cancels a run that has not finished, once: a step in flight fails as cancelled, and no runner write lands after', async () => {
        const o = owner();
        const queued = execution(o, 'w');
        const waiting = execution(o, 'w', { status: 'pending_retry', nextAttemptAt: at(5_000), error: 'boom' });
        const running = execution(o, 'w', {
          actions: [{ type: 'log', message: 'a' }, { type: 'log', message: 'b' }, { type: 'log', message: 'c' }],
          steps: [
            { index: 0, type: 'log', status: 'succeeded', attempt: 1, output: { message: 'a' }, startedAt: at(1), finishedAt: at(2) },
            { index: 1, type: 'log', status: 'running', attempt: 1, startedAt: at(3) },
            { index: 2, type: 'log', status: 'pending' },
          ],
        });
        const done = execution(o, 'w', { status: 'completed', finishedAt: at(1) });
        for (const e of [queued, waiting, running, done]) await store.executions.insert(e);
        await store.executions.claimForRun(running.executionId, 1, 60_000);

        const q = await store.executions.cancel(queued.executionId, at(10));
        assert.equal(q?.status, 'cancelled');
        assert.equal(q?.finishedAt?.getTime(), at(10).getTime());
        assert.equal(await store.executions.cancel(queued.executionId, at(11)), null, 'a second cancel changes nothing');
        assert.equal(await store.executions.claimForRun(queued.executionId, 1, 1_000), null, 'a runner no longer takes it');

        const w = await store.executions.cancel(waiting.executionId, at(10));
        assert.equal(w?.status, 'cancelled');
        assert.equal(w?.nextAttemptAt, undefined);
        assert.deepEqual(await store.executions.requeueDueRetries(10_000).then((all) => all.filter((x) => x.executionId === waiting.executionId)), []);

        const r = await store.executions.cancel(running.executionId, at(10));
        assert.equal(r?.status, 'cancelled');
        assert.equal(r?.leaseUntil, undefined);
        assert.deepEqual(r?.steps.map((step) => step.status), ['succeeded', 'failed', 'pending']);
        assert.equal(r?.steps[1]?.error, CANCELLED_STEP_ERROR);
        assert.equal(r?.steps[1]?.finishedAt?.getTime(), at(10).getTime());
        assert.deepEqual(r?.steps[0]?.output, { message: 'a' });
        const step = { index: 1, type: 'log' as const, status: 'succeeded' as const, attempt: 1, startedAt: at(3), finishedAt: at(20) };
        assert.equal(await store.executions.saveStep(running.executionId, 1, step, 30_000), false);
        assert.equal(await store.executions.finishAttempt(running.executionId, 1, { status: 'completed', at: at(20), retriesLeft: 3 }), false);
        assert.deepEqual(await store.executions.get(running.executionId), r, 'as the cancel left it');

        assert.equal(await store.executions.cancel(done.executionId, at(10)), null, 'a finished run stays as it is');
        assert.equal(await store.executions.cancel(randomUUID(), at(10)), null);
      });

      it('lets exactly one of a cancel and the run\'s own finish win', async () => {
        for (let i = 0; i < 5; i++) {
          const e = execution(owner(), 'w');
          await store.executions.insert(e);
          await store.executions.claimForRun(e.executionId, 1, 60_000);
          const [cancelled, finished] = await Promise.all([
            store.executions.cancel(e.executionId, at(10)),
            store.executions.finishAttempt(e.executionId, 1, { status: 'completed', at: at(10), retriesLeft: 3 }),
          ]);
          assert.equal(Boolean(cancelled) !== finished, true, 'one winner');
          assert.equal((await store.executions.get(e.executionId))?.status, cancelled ? 'cancelled' : 'completed');
        }
      });

      it('resumes a failed or cancelled run in place on the next attempt, keeping its succeeded steps', async () => {
        const o = owner();
        const e = execution(o, 'w', {
          status: 'failed',
          attempt: 2,
          retriesLeft: 0,
          error: 'step 1 failed',
          finishedAt: at(9),
          actions: [{ type: 'log', message: 'a' }, { type: 'log', message: 'b' }],
          steps: [
            { index: 0, type: 'log', status: 'succeeded', attempt: 1, output: { message: 'a' }, startedAt: at(1), finishedAt: at(2) },
            { index: 1, type: 'log', status: 'failed', attempt: 2, error: 'boom', output: { status: 500 }, startedAt: at(3), finishedAt: at(4) },
          ],
        });
        await store.executions.insert(e);
        assert.equal(await store.executions.resume(e.executionId, 1, at(10), 3), null, 'another attempt');
        const resumed = await store.executions.resume(e.executionId, 2, at(10), 3);
        assert.equal(resumed?.status, 'queued');
        assert.equal(resumed?.attempt, 3);
        assert.equal(resumed?.retriesLeft, 3);
        assert.equal(resumed?.error, undefined);
        assert.equal(resumed?.finishedAt, undefined);
        assert.deepEqual(resumed?.steps, [e.steps[0], { index: 1, type: 'log', status: 'pending' }]);
        assert.deepEqual(await store.executions.get(e.executionId), resumed);
        assert.equal(await store.executions.resume(e.executionId, 2, at(11), 3), null, 'once');
        assert.equal(await store.executions.resume(e.executionId, 3, at(11), 3), null, 'a queued run is not resumed');
        const c = execution(o, 'w');
        await store.executions.insert(c);
        await store.executions.cancel(c.executionId, at(1));
        assert.equal((await store.executions.resume(c.executionId, 1, at(2), 3))?.status, 'queued');
        const ok = execution(o, 'w', { status: 'completed', finishedAt: at(1) });
        await store.executions.insert(ok);
        assert.equal(await store.executions.resume(ok.executionId, 1, at(2), 3), null, 'a completed run is not resumed');
      });

      it('purges finished runs by finish time, and a workflow\'s finished runs beyond its newest, in batches', async () => {
        const o = owner();
        const old = (ms: number) => new Date(Date.UTC(1990, 0, 1) + ms); // before anything the other tests write
        const finishedOld = [1, 2, 3].map((i) => execution(o, 'old', { status: 'completed', createdAt: old(i), finishedAt: old(i + 10) }));
        const cancelledOld = execution(o, 'old', { status: 'cancelled', createdAt: old(4), finishedAt: old(14) });
        const stillRunning = execution(o, 'old', { status: 'pending_retry', createdAt: old(5), nextAttemptAt: new Date('2100-01-01') });
        const recent = execution(o, 'old', { status: 'failed', createdAt: old(6), finishedAt: old(1_000) });
        for (const e of [...finishedOld, cancelledOld, stillRunning, recent]) await store.executions.insert(e);
        assert.equal(await store.executions.purgeFinished(old(100), 2), 2, 'a batch at most');
        assert.equal(await store.executions.purgeFinished(old(100), 10), 2);
        assert.equal(await store.executions.purgeFinished(old(100), 10), 0);
        const left = (await store.executions.listByWorkflow(o, 'old', { limit: 10 })).items.map((e) => e.executionId);
        assert.deepEqual(left.sort(), [stillRunning.executionId, recent.executionId].sort(), 'unfinished and recently finished runs stay');

        const runs = Array.from({ length: 6 }, (_, i) =>
          execution(o, 'capped', i === 1 ? { status: 'running', leaseUntil: new Date('2100-01-01'), createdAt: at(i) } : { status: 'completed', createdAt: at(i), finishedAt: at(i + 1) }),
        );
        for (const e of runs) await store.executions.insert(e);
        await store.executions.insert(execution(o, 'other', { status: 'completed', createdAt: at(0), finishedAt: at(1) }));
        assert.equal(await store.executions.purgeBeyond(o, 'capped', 3, 1), 1, 'a batch at most');
        assert.equal(await store.executions.purgeBeyond(o, 'capped', 3, 10), 1);
        assert.equal(await store.executions.purgeBeyond(o, 'capped', 3, 10), 0);
        const kept = (await store.executions.listByWorkflow(o, 'capped', { limit: 10 })).items.map((e) => e.executionId);
        assert.deepEqual(kept, [runs[5], runs[4], runs[3], runs[1]].map((e) => e!.executionId), 'the newest three and the unfinished one');
        assert.equal((await store.executions.listByWorkflow(o, 'other', { limit: 10 })).items.length, 1, 'other workflows untouched');
      });

      it('requeues due retries and expired leases once each, never to two concurrent callers', async () => {
        const o = owner();
        const retries: Execution[] = [];
        for (let i = 0; i < 10; i++) {
          const e = execution(o, 'w', { status: 'pending_retry', nextAttemptAt: new Date('2000-01-01T00:00:00Z') });
          await store.executions.insert(e);
          retries.push(e);
        }
        const notYet = execution(o, 'w', { status: 'pending_retry', nextAttemptAt: new Date('2200-01-01T00:00:00Z') });
        await store.executions.insert(notYet);
        const got = (await Promise.all([1, 2].map(() => store.uow.run((tx) => tx.executions.requeueDueRetries(10_000))))).flat().filter((e) => e.ownerId === o);
        assert.equal(got.length, 10);
        assert.equal(new Set(got.map((e) => e.executionId)).size, 10);
        assert.equal((await store.executions.get(notYet.executionId))?.status, 'pending_retry');

        const stuck = execution(o, 'w', { status: 'running', leaseUntil: new Date('2000-01-01T00:00:00Z'), attempt: 2 });
        const live = execution(o, 'w', { status: 'running', leaseUntil: new Date('2200-01-01T00:00:00Z') });
        await store.executions.insert(stuck);
        await store.executions.insert(live);
        const recovered = (await store.uow.run((tx) => tx.executions.requeueExpiredLeases(10_000))).filter((e) => e.ownerId === o);
        assert.deepEqual(recovered.map((e) => [e.executionId, e.status, e.attempt]), [[stuck.executionId, 'queued', 2]], 'only the lease that ran out');
        assert.equal((await store.executions.get(stuck.executionId))?.leaseUntil, undefined);
        assert.equal((await store.executions.get(live.executionId))?.status, 'running');
      });

      it('keeps each earlier attempt as it ended when another starts (a due retry, a re-run in place, a lost runner), never on a step write', async () => {
        const e = execution(owner(), 'w', { actions: [{ type: 'log', message: 'a' }, { type: 'log', message: 'b' }], steps: [{ index: 0, type: 'log', status: 'pending' }, { index: 1, type: 'log', status: 'pending' }] });
        await store.executions.insert(e);
        const only = (all: Execution[]) => all.filter((x) => x.executionId === e.executionId);
        const first = { index: 0, type: 'log' as const, status: 'succeeded' as const, attempt: 1, output: { message: 'a' }, startedAt: at(1), finishedAt: at(2) };
        const failed = (attempt: number, start: number) => ({ index: 1, type: 'log' as const, status: 'failed' as const, attempt, error: 'boom', output: { status: 500 }, startedAt: at(start), finishedAt: at(start + 1) });
        await store.executions.claimForRun(e.executionId, 1, 60_000);
        await store.executions.saveStep(e.executionId, 1, first, 60_000);
        await store.executions.finishAttempt(e.executionId, 1, { status: 'pending_retry', at: at(10), nextAttemptAt: new Date('2000-01-01T00:00:00Z'), error: 'step 1 failed', retriesLeft: 2, step: failed(1, 3) });
        assert.equal((await store.executions.get(e.executionId))?.attempts, undefined, 'the current attempt is in steps only');

        const [retried] = only(await store.uow.run((tx) => tx.executions.requeueDueRetries(10_000)));
        const firstRecord = { attempt: 1, endedAs: 'pending_retry', startedAt: at(1), finishedAt: at(10), error: 'step 1 failed', steps: [first, failed(1, 3)] };
        assert.deepEqual(retried?.attempts, [firstRecord]);
        assert.deepEqual(await store.executions.get(e.executionId), retried);

        await store.executions.claimForRun(e.executionId, 2, 60_000);
        assert.equal(await store.executions.saveStep(e.executionId, 2, { ...failed(2, 15), status: 'running' }, 60_000), true);
        assert.deepEqual((await store.executions.get(e.executionId))?.attempts, [firstRecord], 'a step write leaves the history alone');
        await store.executions.finishAttempt(e.executionId, 2, { status: 'failed', at: at(20), error: 'step 1 failed again', retriesLeft: 2, step: failed(2, 15) });
        const rerun = await store.executions.resume(e.executionId, 2, at(30), 3);
        const secondRecord = { attempt: 2, endedAs: 'failed', startedAt: at(15), finishedAt: at(20), error: 'step 1 failed again', steps: [failed(2, 15)] };
        assert.deepEqual(rerun?.attempts, [firstRecord, secondRecord], 'only the steps that ran on the attempt');

        const lost = await store.executions.claimForRun(e.executionId, 3, 0);
        const [requeued] = only(await store.uow.run((tx) => tx.executions.requeueExpiredLeases(10_000)));
        assert.deepEqual(requeued?.attempts, [firstRecord, secondRecord, { attempt: 3, endedAs: 'lease_expired', finishedAt: lost?.updatedAt, steps: [] }], 'no step ran, no error');
        assert.equal(requeued?.attempt, 3);

        const c = execution(owner(), 'w');
        await store.executions.insert(c);
        await store.executions.cancel(c.executionId, at(5));
        assert.deepEqual((await store.executions.resume(c.executionId, 1, at(6), 3))?.attempts, [{ attempt: 1, endedAs: 'cancelled', finishedAt: at(5), steps: [] }]);
      });

      it(`keeps at most the newest ${MAX_ATTEMPT_RECORDS} earlier attempts`, async () => {
        const records = Array.from({ length: MAX_ATTEMPT_RECORDS }, (_, i) => ({ attempt: i + 1, endedAs: 'pending_retry' as const, finishedAt: at(i), error: `failure ${i + 1}`, steps: [] }));
        const e = execution(owner(), 'w', { status: 'pending_retry', attempt: MAX_ATTEMPT_RECORDS + 1, nextAttemptAt: new Date('2000-01-01T00:00:00Z'), updatedAt: at(100), attempts: records });
        await store.executions.insert(e);
        assert.deepEqual(await store.executions.get(e.executionId), e, 'a history is stored as given');
        const [requeued] = (await store.executions.requeueDueRetries(10_000)).filter((x) => x.executionId === e.executionId);
        assert.equal(requeued?.attempts?.length, MAX_ATTEMPT_RECORDS);
        assert.deepEqual(requeued?.attempts?.map((a) => a.attempt), Array.from({ length: MAX_ATTEMPT_RECORDS }, (_, i) => i + 2), 'the oldest dropped');
      });

      it('parks a run waiting at a delay, and resumes it when due by store time on the same attempt, once, never to two concurrent callers', async () => {
        const o = owner();
        const due = new Date('2000-01-01T00:00:00Z');
        const e = execution(o, 'w');
        await store.executions.insert(e);
        await store.executions.claimForRun(e.executionId, 1, 60_000);
        const parked = { index: 0, type: 'log' as const, status: 'pending' as const, attempt: 1, output: { resumeAt: due.toISOString() }, startedAt: at(10) };
        assert.equal(await store.executions.finishAttempt(e.executionId, 1, { status: 'waiting', at: at(10), nextAttemptAt: due, retriesLeft: 3, step: parked }), true);
        const read = await store.executions.get(e.executionId);
        assert.equal(read?.status, 'waiting');
        assert.equal(read?.finishedAt, undefined, 'a waiting run is not finished');
        assert.deepEqual(read?.steps[0], parked);
        assert.equal((await store.executions.countByStatus()).waiting >= 1, true);
        const notYet = execution(o, 'w', { status: 'waiting', nextAttemptAt: new Date('2200-01-01T00:00:00Z') });
        await store.executions.insert(notYet);
        const mine = (all: Execution[]) => all.filter((x) => x.ownerId === o);
        const got = mine((await Promise.all([1, 2].map(() => store.uow.run((tx) => tx.executions.resumeDueWaits(10_000))))).flat());
        assert.deepEqual(got.map((x) => [x.executionId, x.status, x.attempt, x.nextAttemptAt?.getTime()]), [[e.executionId, 'queued', 1, due.getTime()]]);
        assert.equal((await store.executions.get(notYet.executionId))?.status, 'waiting', 'not before its time');
        assert.ok(await store.executions.claimForRun(e.executionId, 1, 60_000), 'the resumed run is claimed on its attempt');
      });

      it('cancels a run waiting at a delay (compare-and-set on unfinished): it is never resumed', async () => {
        const o = owner();
        const due = new Date('2000-01-01T00:00:00Z');
        const e = execution(o, 'w');
        await store.executions.insert(e);
        await store.executions.claimForRun(e.executionId, 1, 60_000);
        assert.equal(await store.executions.finishAttempt(e.executionId, 1, { status: 'waiting', at: at(10), nextAttemptAt: due, retriesLeft: 3 }), true);
        const cancelled = await store.executions.cancel(e.executionId, at(11));
        assert.equal(cancelled?.status, 'cancelled');
        assert.equal(cancelled?.nextAttemptAt, undefined);
        const resumed = (await store.uow.run((tx) => tx.executions.resumeDueWaits(10_000))).filter((x) => x.executionId === e.executionId);
        assert.deepEqual(resumed, []);
        assert.equal((await store.executions.get(e.executionId))?.status, 'cancelled');
        assert.equal(await store.executions.cancel(e.executionId, at(12)), null, 'a finished run is not cancelled again');
      });

      it('requeues runs queued too long whose request left the outbox, once per age, never to two concurrent callers', async () => {
        const o = owner();
        const AGE = 60_000;
        const [old, far] = [new Date('2000-01-01T00:00:00Z'), new Date('2100-01-01T00:00:00Z')];
        // A queued run's updatedAt is when its request was written; `recent`'s, later than any age.
        const lost = execution(o, 'w', { updatedAt: old });
        const recent = execution(o, 'w', { updatedAt: far });
        const unsent = execution(o, 'w', { updatedAt: old }); // its request still waits in the outbox
        const retried = execution(o, 'w', { updatedAt: old, attempt: 2 }); // attempt 1's request waits; its own was sent
        const running = execution(o, 'w', { status: 'running', updatedAt: old, leaseUntil: far });
        const waiting = execution(o, 'w', { status: 'pending_retry', updatedAt: old, nextAttemptAt: far });
        for (const e of [lost, recent, unsent, retried, running, waiting]) await store.executions.insert(e);
        const unsentRequest = executionRequestedMessage(unsent, DEFAULT_TOPICS, old);
        await store.outbox.add(unsentRequest);
        await store.outbox.add(executionRequestedMessage({ ...retried, attempt: 1 }, DEFAULT_TOPICS, old));
        const requeue = (queuedForMs: number) =>
          store.uow.run((tx) => tx.executions.requeueStaleQueued(queuedForMs, 10_000)).then((all) => all.filter((e) => e.ownerId === o));
        const ids = (es: Execution[]) => es.map((e) => e.executionId).sort();

        const from = await store.now();
        const [one, two] = await Promise.all([requeue(AGE), requeue(AGE)]);
        const to = await store.now();
        assert.deepEqual(ids([...one, ...two]), ids([lost, retried]), 'each once, to one of the two callers');
        for (const e of [...one, ...two]) {
          assert.equal(e.status, 'queued');
          assertLease(e.updatedAt, 0, from, to, 'marked as sent again at the store\'s time');
        }
        assert.equal((await store.executions.get(retried.executionId))?.attempt, 2, 'on the same attempt');
        assert.deepEqual(ids(await requeue(AGE)), [], 'not again before as long has passed again');

        const relayed = await store.outbox.claimBatch(0, 100_000);
        assert.equal(await store.outbox.markPublished(relayed.lockToken, [unsentRequest.id], at(1)), 1);
        assert.deepEqual(ids(await requeue(AGE)), ids([unsent]), 'once its request is published');
        assert.deepEqual(ids(await requeue(0)), ids([lost, unsent, retried]), 'and again after another age (here none)');
        assert.equal((await store.executions.get(running.executionId))?.status, 'running');
        assert.equal((await store.executions.get(waiting.executionId))?.status, 'pending_retry');
      });

      it('counts executions by status: every status but completed exactly, completed as an estimate', async () => {
        const o = owner();
        const before = await store.executions.countByStatus();
        const lease = new Date('2100-01-01T00:00:00Z');
        await store.executions.insert(execution(o, 'w', { status: 'queued' }));
        await store.executions.insert(execution(o, 'w', { status: 'running', leaseUntil: lease }));
        await store.executions.insert(execution(o, 'w', { status: 'running', leaseUntil: lease }));
        await store.executions.insert(execution(o, 'w', { status: 'pending_retry', nextAttemptAt: lease }));
        await store.executions.insert(execution(o, 'w', { status: 'waiting', nextAttemptAt: lease }));
        await store.executions.insert(execution(o, 'w', { status: 'failed', finishedAt: at(1) }));
        await store.executions.insert(execution(o, 'w', { status: 'completed', finishedAt: at(1) }));
        const rolledBack = store.uow.run(async (tx) => {
          await tx.executions.insert(execution(o, 'w', { status: 'queued' }));
          throw new Error('rolled back');
        });
        await assert.rejects(rolledBack, /rolled back/);
        const after = await store.executions.countByStatus();
        assert.deepEqual(Object.keys(after).sort(), ['cancelled', 'completed', 'failed', 'pending_retry', 'queued', 'running', 'waiting']);
        const added = { queued: 1, running: 2, waiting: 1, pending_retry: 1, failed: 1, cancelled: 0 };
        for (const [status, n] of Object.entries(added) as [keyof typeof added, number][]) assert.equal(after[status], before[status] + n, status);
        assert.ok(Number.isInteger(after.completed) && after.completed >= 0, `completed: ${after.completed}`);
      });

      it('keeps user JSON exactly: payloads, action bodies and headers, step outputs', async () => {
        const o = owner();
        const request: HttpRequestAction = { type: 'http-request', url: 'https://example.com/', method: 'POST', headers: { $ref: 'a', $id: 'b', 'x.y': 'z' }, body: USER_JSON };
        const actions = [request];
        const sameJson = (actual: unknown, what: string) => {
          assert.deepStrictEqual(actual, USER_JSON, what);
          assert.equal(JSON.stringify(actual), JSON.stringify(USER_JSON), `${what}: key order`);
        };

        await store.workflows.create(workflow(o, 'w', { actions }));
        const action = async () => (await store.workflows.get(o, 'w'))?.actions[0] as HttpRequestAction;
        sameJson((await action()).body, 'workflow action body');
        await store.workflows.replace(workflow(o, 'w', { version: 2, actions: [{ ...request, body: [USER_JSON] }] }), 1);
        sameJson(((await action()).body as unknown[])[0], 'replaced action body');
        assert.deepStrictEqual((await action()).headers, request.headers);

        const e = execution(o, 'w', { actions, trigger: { type: 'webhook', firedAt: T0, payload: USER_JSON }, steps: [0, 1].map((index) => ({ index, type: 'http-request', status: 'pending' })) });
        await store.executions.insert(e);
        await store.executions.claimForRun(e.executionId, 1, 60_000);
        const step = (index: number): Step => ({ index, type: 'http-request', status: 'succeeded', attempt: 1, output: USER_JSON, startedAt: at(1), finishedAt: at(2) });
        assert.equal(await store.executions.saveStep(e.executionId, 1, step(0), 60_000), true);
        assert.equal(await store.executions.finishAttempt(e.executionId, 1, { status: 'completed', at: at(3), retriesLeft: 3, step: step(1) }), true);
        const read = (await store.executions.listByWorkflow(o, 'w', { limit: 1 })).items[0]!;
        sameJson(read.trigger.payload, 'trigger payload');
        sameJson((read.actions[0] as HttpRequestAction).body, 'execution action body');
        sameJson(read.steps[0]?.output, 'output saved by saveStep');
        sameJson(read.steps[1]?.output, 'output saved by finishAttempt');
        assert.deepStrictEqual(await store.executions.get(e.executionId), read);
      });

      it('stores an output over the size bound as a truncated marker, and cuts an over-long error, so a run never outgrows its store', async () => {
        const limit = DEFAULT_MAX_STEP_OUTPUT_BYTES;
        const huge = { body: 'x'.repeat(4 * limit), accents: 'é'.repeat(limit), quotes: '"'.repeat(limit) };
        const e = execution(owner(), 'w', { steps: [0, 1, 2].map((index) => ({ index, type: 'log', status: 'pending' })) });
        await store.executions.insert(e);
        await store.executions.claimForRun(e.executionId, 1, 60_000);
        const step = (index: number, extra: Partial<Step>): Step => ({ index, type: 'log', status: 'succeeded', attempt: 1, startedAt: at(1), finishedAt: at(2), ...extra });
        const fits = { text: 'y'.repeat(limit - 100) };
        assert.equal(await store.executions.saveStep(e.executionId, 1, step(0, { output: huge }), 60_000), true);
        assert.equal(await store.executions.saveStep(e.executionId, 1, step(1, { output: fits }), 60_000), true);
        const error = `boom ${'€'.repeat(limit)}`;
        assert.equal(await store.executions.finishAttempt(e.executionId, 1, { status: 'failed', at: at(3), retriesLeft: 0, error, step: step(2, { status: 'failed', output: huge, error }) }), true);

        const read = (await store.executions.get(e.executionId))!;
        for (const index of [0, 2]) {
          const output = read.steps[index]?.output as { truncated: unknown; bytes: unknown; preview: string };
          assert.deepEqual(Object.keys(output).sort(), ['bytes', 'preview', 'truncated'], `step ${index}`);
          assert.equal(output.truncated, true);
          assert.equal(output.bytes, jsonBytes(huge));
          assert.ok(output.preview.length > 0 && JSON.stringify(huge).startsWith(output.preview), 'the preview is the beginning of the JSON text');
          assert.ok(jsonBytes(output) <= limit, `the marker stays within the bound: ${jsonBytes(output)}`);
        }
        assert.deepStrictEqual(read.steps[1]?.output, fits, 'an output within the bound is kept whole');
        for (const kept of [read.error!, read.steps[2]!.error!]) {
          assert.ok(Buffer.byteLength(kept, 'utf8') <= limit && kept.startsWith('boom €€€'), `error cut to the bound: ${Buffer.byteLength(kept, 'utf8')} bytes`);
        }
        // An output and an error per step, and the run's error: bounded, whatever the steps returned.
        assert.ok(jsonBytes(read) < (2 * read.steps.length + 1) * limit, `the whole run stays bounded: ${jsonBytes(read)} bytes`);
      });
    });

    describe('OutboxRepo', () => {
      it('claims in the order added under a lock, marks published or failed, and reports the backlog', async () => {
        // A store of its own is not available here, so work with the messages this test adds.
        const key = `k-${randomUUID()}`;
        const msgs = [0, 1, 2, 3].map((i) => outboxMessage(key, new Date(Date.UTC(1999, 0, 1, 0, 0, i))));
        for (const m of msgs.slice(0, 3)) await store.outbox.add(m);
        await assert.rejects(store.outbox.add(msgs[0]!), ConflictError);
        const now = new Date('2100-01-01T00:00:00Z');
        const backlog = await store.outbox.backlog(now);
        assert.ok(backlog.count >= 3);
        assert.ok(backlog.oldestAgeMs >= now.getTime() - msgs[0]!.createdAt.getTime());

        const mine = (batch: OutboxBatch) => batch.messages.filter((m) => m.key === key);
        const from = await store.now();
        const first = await store.outbox.claimBatch(60_000, 100_000);
        const claimed = mine(first);
        assert.deepEqual(claimed.map((m) => m.id), msgs.slice(0, 3).map((m) => m.id), 'in the order they were added');
        assert.deepEqual(claimed[0]?.event, msgs[0]?.event);
        for (const m of claimed) assertLease(m.lockedUntil, 60_000, from, await store.now());
        assert.deepEqual(mine(await store.outbox.claimBatch(60_000, 100_000)), [], 'locked');

        assert.equal(await store.outbox.markFailed(first.lockToken, [msgs[0]!.id], 'broker down'), 1);
        assert.equal(await store.outbox.markPublished(first.lockToken, [msgs[1]!.id], now), 1);
        const second = await store.outbox.claimBatch(60_000, 100_000);
        assert.deepEqual(mine(second).map((m) => [m.id, m.attempts, m.lastError]), [[msgs[0]!.id, 1, 'broker down']], 'a failed message is unlocked; a published one is gone');
        assert.equal(await store.outbox.markPublished(second.lockToken, [msgs[0]!.id], now), 1);
        assert.equal(await store.outbox.markPublished(first.lockToken, [msgs[2]!.id], now), 1, 'the rest of the first claim is still its own');

        await store.outbox.add(msgs[3]!);
        const expiring = await store.outbox.claimBatch(0, 100_000);
        assert.deepEqual(mine(expiring).map((m) => m.id), [msgs[3]!.id]);
        assert.equal(await store.outbox.markPublished(expiring.lockToken, [msgs[3]!.id], now), 1, 'a lock past its time still holds what nobody claimed since');
        assert.deepEqual(mine(await store.outbox.claimBatch(60_000, 100_000)), [], 'published messages are never claimed again');
        assert.ok((await store.outbox.purgePublished(new Date('2200-01-01T00:00:00Z'), 100_000)) >= 0);
      });

      it('lets a relay whose lock expired mid-publish touch nothing another relay claimed since', async () => {
        const key = `k-${randomUUID()}`;
        const msgs = [0, 1].map((i) => outboxMessage(key, new Date(Date.UTC(1998, 0, 1, 0, 0, i))));
        for (const m of msgs) await store.outbox.add(m);
        const ids = msgs.map((m) => m.id);
        const mine = (batch: OutboxBatch) => batch.messages.filter((m) => m.key === key).map((m) => m.id);
        const t = (s: number) => new Date(Date.UTC(2100, 0, 1, 0, 0, s));

        // The first relay's lock (0 ms) runs out while it publishes; the second claims the same messages.
        const slow = await store.outbox.claimBatch(0, 100_000);
        assert.deepEqual(mine(slow), ids);
        const fast = await store.outbox.claimBatch(60_000, 100_000);
        assert.deepEqual(mine(fast), ids);

        assert.equal(await store.outbox.markFailed(slow.lockToken, ids, 'timed out'), 0, 'the first relay fails nothing');
        assert.equal(await store.outbox.markPublished(slow.lockToken, ids, t(11)), 0, 'nor marks anything published');
        assert.deepEqual(mine(await store.outbox.claimBatch(60_000, 100_000)), [], 'the second relay still holds them');

        assert.equal(await store.outbox.markFailed(fast.lockToken, [ids[0]!], 'broker down'), 1);
        assert.equal(await store.outbox.markPublished(fast.lockToken, [ids[1]!], t(13)), 1);
        const retry = await store.outbox.claimBatch(60_000, 100_000);
        assert.deepEqual(retry.messages.filter((m) => m.key === key).map((m) => [m.id, m.attempts]), [[ids[0], 1]], 'one attempt counted, by the relay that held it');
        assert.equal(await store.outbox.markPublished(retry.lockToken, [ids[0]!], t(15)), 1);
      });
    });

    describe('OutboxRepo.relay', () => {
      // Other tests' messages may be pending too: a pass takes them along; these look at their own.
      it('hands a batch to the publish in the order added, holds it meanwhile, and marks it published once', async () => {
        const key = `relay-${randomUUID()}`;
        const msgs = [0, 1, 2].map((i) => outboxMessage(key, new Date(Date.UTC(1999, 0, 2, 0, 0, i))));
        for (const m of msgs) await store.outbox.add(m);
        const mine = (messages: readonly OutboxMessage[]) => messages.filter((m) => m.key === key).map((m) => m.id);

        let release!: () => void;
        let started!: () => void;
        const publishing = new Promise<void>((resolve) => (started = resolve));
        let handed: OutboxMessage[] = [];
        const first = store.outbox.relay(60_000, 100_000, async (messages) => {
          handed = messages;
          started();
          await new Promise<void>((resolve) => (release = resolve));
        });
        await publishing;
        assert.deepEqual(mine(handed), msgs.map((m) => m.id), 'in the order added');
        assert.deepEqual(handed.find((m) => m.id === msgs[0]!.id)?.event, msgs[0]!.event);

        let seen: OutboxMessage[] = [];
        await store.outbox.relay(60_000, 100_000, async (messages) => void (seen = messages));
        assert.deepEqual(mine(seen), [], 'another relay does not get them while the first publishes');

        release();
        const result = await first;
        assert.ok(result.claimed >= 3 && result.marked === result.claimed);
        seen = [];
        await store.outbox.relay(60_000, 100_000, async (messages) => void (seen = messages));
        assert.deepEqual(mine(seen), [], 'published: never handed out again');
        assert.deepEqual(mine((await store.outbox.claimBatch(0, 100_000)).messages), []);
      });

      it('on a failed publish, rethrows and keeps the batch pending with the attempt and error recorded', async () => {
        const key = `relay-${randomUUID()}`;
        const m = outboxMessage(key, new Date(Date.UTC(1999, 0, 3)));
        await store.outbox.add(m);
        await assert.rejects(store.outbox.relay(60_000, 100_000, async () => Promise.reject(new Error('broker down'))), /broker down/);
        let retried: OutboxMessage | undefined;
        await store.outbox.relay(60_000, 100_000, async (messages) => void (retried = messages.find((x) => x.key === key)));
        assert.deepEqual([retried?.id, retried?.attempts, retried?.lastError], [m.id, 1, 'broker down'], 'released at once, for the next pass');
      });
    });

    describe('UserRepo and IdempotencyRepo', () => {
      it('creates users with unique emails', async () => {
        const email = `${randomUUID()}@example.com`;
        const user = { userId: randomUUID(), email, passwordHash: 'scrypt$x', createdAt: T0, sessionVersion: 0 };
        await store.users.create(user);
        await assert.rejects(store.users.create({ ...user, userId: randomUUID() }), ConflictError);
        assert.deepEqual(await store.users.findByEmail(email), user);
        assert.deepEqual(await store.users.findById(user.userId), user);
        assert.equal(await store.users.findByEmail(`nobody-${email}`), null);
      });

      it('revokes sessions by raising the session version, one step per call', async () => {
        const user = { userId: randomUUID(), email: `${randomUUID()}@example.com`, passwordHash: 'scrypt$x', createdAt: T0, sessionVersion: 0 };
        await store.users.create(user);
        assert.equal(await store.users.revokeSessions(user.userId), 1);
        assert.deepEqual(await Promise.all([store.users.revokeSessions(user.userId), store.users.revokeSessions(user.userId)]).then((v) => v.sort()), [2, 3]);
        assert.equal((await store.users.findById(user.userId))?.sessionVersion, 3);
        assert.equal(await store.users.revokeSessions(randomUUID()), null);
      });

      it('remembers an idempotency key for the window, and lets an expired one be reused', async () => {
        const o = owner();
        assert.equal(await store.idempotency.putIfAbsent(o, 'k', 'e1', at(0), at(-1)), 'e1');
        assert.equal(await store.idempotency.find(o, 'k', at(-1)), 'e1');
        assert.equal(await store.idempotency.find(owner(), 'k', at(-1)), null, 'per owner');
        assert.equal(await store.idempotency.putIfAbsent(o, 'k', 'e2', at(10), at(-1)), 'e1', 'a live entry stands');
        assert.equal(await store.idempotency.find(o, 'k', at(-1)), 'e1');
        assert.equal(await store.idempotency.find(o, 'k', at(1)), null, 'outside the window');
        assert.equal(await store.idempotency.putIfAbsent(o, 'k', 'e3', at(20), at(1)), 'e3', 'an expired entry is replaced');
        assert.equal(await store.idempotency.find(o, 'k', at(1)), 'e3');
      });

      it('purges keys recorded before a time, at most `limit` at a time', async () => {
        // 1970: older than every key another test records.
        const t = (s: number) => new Date(Date.UTC(1970, 0, 1, 0, 0, s));
        const o = owner();
        for (const [k, s] of [['a', 1], ['b', 2], ['c', 3], ['live', 10]] as const) await store.idempotency.putIfAbsent(o, k, `e-${k}`, t(s), t(0));
        assert.equal(await store.idempotency.purgeExpired(t(5), 2), 2);
        assert.equal(await store.idempotency.purgeExpired(t(5), 2), 1);
        assert.equal(await store.idempotency.purgeExpired(t(5), 2), 0);
        for (const k of ['a', 'b', 'c']) assert.equal(await store.idempotency.find(o, k, t(0)), null, `${k} is gone`);
        assert.equal(await store.idempotency.find(o, 'live', t(0)), 'e-live');
      });

      it('records a key once among concurrent units of work, and every one of them gets that run', async () => {
        const o = owner();
        await store.workflows.create(workflow(o, 'w'));
        const wf = (await store.workflows.get(o, 'w'))!;
        // What a trigger request does: record the key first, then accept the run only if the key is its own.
        const request = () =>
          store.uow.run(async (tx) => {
            const mine = randomUUID();
            const recorded = await tx.idempotency.putIfAbsent(o, 'k', mine, at(1), at(0));
            if (recorded === mine) await acceptRun(tx, wf, { type: 'manual', firedAt: at(1) }, DEFAULT_TOPICS, at(1), { key: 'k', executionId: mine });
            return recorded;
          });
        const answers = await Promise.all(Array.from({ length: 6 }, request));
        assert.equal(new Set(answers).size, 1, 'one run for every request');
        const runs = await store.executions.listByWorkflow(o, 'w', { limit: 10 });
        assert.deepEqual(runs.items.map((e) => [e.executionId, e.idempotencyKey]), [[answers[0], 'k']]);
      });
    });

    describe('SecretRepo', () => {
      it('puts, replaces (keeping createdAt), lists by name without values, gets some, and deletes, per owner', async () => {
        const o = owner();
        const secret = (name: string, ciphertext: string, t: number) => ({ ownerId: o, name, ciphertext, createdAt: at(t), updatedAt: at(t) });
        assert.equal(await store.secrets.put(secret('stripe', 'v1.k.one', 0)), true);
        assert.equal(await store.secrets.put(secret('api_key', 'v1.k.two', 1)), true);
        assert.equal(await store.secrets.put(secret('stripe', 'v1.k.three', 5)), false, 'a replace');
        assert.deepEqual(await store.secrets.list(o), [
          { name: 'api_key', createdAt: at(1), updatedAt: at(1) },
          { name: 'stripe', createdAt: at(0), updatedAt: at(5) },
        ]);
        assert.deepEqual(await store.secrets.getMany(o, ['stripe', 'missing']), [{ ownerId: o, name: 'stripe', ciphertext: 'v1.k.three', createdAt: at(0), updatedAt: at(5) }]);
        assert.deepEqual(await store.secrets.getMany(o, []), []);
        const other = owner();
        assert.deepEqual(await store.secrets.list(other), [], 'per owner');
        assert.deepEqual(await store.secrets.getMany(other, ['stripe']), []);
        assert.equal(await store.secrets.delete(other, 'stripe'), false);
        assert.equal(await store.secrets.delete(o, 'stripe'), true);
        assert.equal(await store.secrets.delete(o, 'stripe'), false);
        assert.deepEqual((await store.secrets.list(o)).map((x) => x.name), ['api_key']);
      });
    });

    describe('UnitOfWork', () => {
      it('returns the result, and rolls back every write across repos when the work throws', async () => {
        const o = owner();
        await store.workflows.create(workflow(o, 'w'));
        const wf = (await store.workflows.get(o, 'w'))!;
        const e = await store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: at(1) }, DEFAULT_TOPICS, at(1)));
        assert.equal((await store.executions.get(e.executionId))?.status, 'queued');

        await store.workflows.setTriggerStatus(o, 'w', e.executionId, ['busy'], 'idle', at(2));
        const key = `boom-${randomUUID()}`;
        let inserted: string | undefined;
        await assert.rejects(
          store.uow.run(async (tx) => {
            inserted = (await acceptRun(tx, wf, { type: 'manual', firedAt: at(3) }, DEFAULT_TOPICS, at(3))).executionId;
            await tx.idempotency.putIfAbsent(o, key, inserted, at(3), at(0));
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await store.executions.get(inserted!), null, 'execution rolled back');
        assert.equal((await store.workflows.get(o, 'w'))?.trigger.status, 'idle', 'status rolled back');
        assert.equal(await store.idempotency.find(o, key, at(0)), null, 'idempotency key rolled back');
      });

      it('lets exactly one of two concurrent accepts win; the other gets WorkflowBusyError and writes nothing', async () => {
        const o = owner();
        await store.workflows.create(workflow(o, 'w'));
        const wf = (await store.workflows.get(o, 'w'))!;
        const results = await Promise.allSettled(
          [1, 2].map(() => store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: at(1) }, DEFAULT_TOPICS, at(1)))),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.ok(rejected.reason instanceof WorkflowBusyError, String(rejected.reason));
        assert.equal((await store.executions.listByWorkflow(o, 'w', { limit: 10 })).items.length, 1);
      });

      it('answers ping', async () => {
        await store.ping();
      });
    });
  });
}
