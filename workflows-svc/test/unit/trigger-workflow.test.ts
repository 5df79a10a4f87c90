import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError, DEFAULT_TOPICS, NotFoundError, WorkflowBusyError, type Execution, type OutboxMessage, type WorkflowRevision } from '@wf/shared';
import { aWorkflow, FakeClock } from '@wf/shared/testing';
import { hashHookSecret } from '../../src/app/hook-secrets.js';
import { IDEMPOTENCY_WINDOW_MS, TriggerWorkflow } from '../../src/app/trigger-workflow.js';
import { WRITES, callsTo, mockStore } from '../support/mock-store.js';

const NOW = '2026-02-01T10:00:00.000Z';

function setup() {
  const mocks = mockStore();
  const clock = new FakeClock(NOW);
  const useCase = new TriggerWorkflow(mocks.store.uow, clock, DEFAULT_TOPICS);
  return { ...mocks, clock, useCase };
}

const owned = { kind: 'owned', ownerId: 'owner-1', workflowId: 'wf-1' } as const;
const NOT_BEFORE = new Date(Date.parse(NOW) - IDEMPOTENCY_WINDOW_MS);

describe('TriggerWorkflow', () => {
  test('with a key, accepts a run in one unit of work: idempotency key first, then status busy, queued execution and outbox message in one write', async () => {
    const { tx, direct, uowRun, useCase } = setup();
    const writes: string[] = [];
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow());
    tx.idempotency.putIfAbsent.mock.mockImplementation(async (_owner, _key, executionId) => (writes.push('key'), executionId));
    tx.workflows.acceptRun.mock.mockImplementation(async () => (writes.push('accept'), true));

    const result = await useCase.execute({ target: owned, payload: { orderId: 7 }, idempotencyKey: 'key-1' });

    assert.equal(uowRun.mock.callCount(), 1);
    assert.deepEqual(callsTo(direct, WRITES), [], 'nothing is written outside the unit of work');
    const [execution, message, version] = tx.workflows.acceptRun.mock.calls[0]!.arguments as [Execution, OutboxMessage, number | undefined];
    assert.equal(execution.status, 'queued');
    assert.equal(execution.executionId, result.executionId);
    assert.deepEqual([execution.ownerId, execution.workflowId, execution.createdAt], ['owner-1', 'wf-1', new Date(NOW)]);
    assert.deepEqual(execution.trigger, { type: 'manual', firedAt: new Date(NOW), payload: { orderId: 7 } });
    assert.equal(execution.idempotencyKey, 'key-1');
    assert.equal(version, undefined, 'inside the unit of work, with the key held: no version condition');
    assert.equal(message.topic, DEFAULT_TOPICS.requested);
    assert.equal(message.key, 'owner-1:wf-1', 'keyed by owner and workflow');
    assert.equal(message.event.type, 'ExecutionRequested');
    assert.equal(message.event.data.executionId, result.executionId);
    assert.deepEqual(tx.idempotency.putIfAbsent.mock.calls[0]?.arguments, ['owner-1', 'key-1', result.executionId, new Date(NOW), NOT_BEFORE]);
    // A concurrent retry with the same key then waits on the key, before touching the workflow.
    assert.deepEqual(writes, ['key', 'accept']);
    assert.deepEqual(result, { executionId: execution.executionId, status: 'queued', replayed: false });
  });

  test('without a key, one write conditioned on the revision read, and no idempotency lookup or record', async () => {
    const { tx, useCase } = setup();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ version: 4 }));
    tx.workflows.acceptRun.mock.mockImplementation(async () => true);
    await useCase.execute({ target: owned });
    assert.equal(tx.idempotency.find.mock.callCount(), 0);
    assert.equal(tx.idempotency.putIfAbsent.mock.callCount(), 0);
    const [execution, , asRead] = tx.workflows.acceptRun.mock.calls[0]!.arguments as [Execution, OutboxMessage, WorkflowRevision | undefined];
    assert.equal('payload' in execution.trigger, false);
    assert.equal(asRead?.version, 4);
  });

  test('without a key, a workflow changed between the read and the write is read again, and its run accepted', async () => {
    const { tx, useCase } = setup();
    let version = 1;
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ version }));
    tx.workflows.acceptRun.mock.mockImplementation(async (_e, _m, asRead) => {
      if (asRead?.version === 1) version = 2; // changed meanwhile: the write misses
      return asRead?.version === version;
    });
    await useCase.execute({ target: owned });
    assert.deepEqual(tx.workflows.acceptRun.mock.calls.map((c) => c.arguments[2]?.version), [1, 2]);
  });

  test('without a key, a workflow deleted and created again at the same version between the read and the write is read again', async () => {
    const { tx, useCase } = setup();
    let createdAt = new Date('2026-01-01T00:00:00Z');
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ version: 1, createdAt }));
    tx.workflows.acceptRun.mock.mockImplementation(async (_e, _m, asRead) => {
      const stale = asRead?.createdAt.getTime() === Date.parse('2026-01-01T00:00:00Z');
      if (stale) createdAt = new Date('2026-01-02T00:00:00Z'); // deleted and created again meanwhile: the write misses
      return !stale;
    });
    await useCase.execute({ target: owned });
    assert.deepEqual(tx.workflows.acceptRun.mock.calls.map((c) => c.arguments[2]?.createdAt.toISOString()), ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z']);
  });

  test('a busy workflow: WorkflowBusyError with the current status, and no execution or message (the key goes with the unit of work)', async () => {
    const { tx, useCase } = setup();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ trigger: { type: 'manual', status: 'pending' } }));
    tx.idempotency.putIfAbsent.mock.mockImplementation(async (_owner, _key, executionId) => executionId);
    tx.workflows.acceptRun.mock.mockImplementation(async () => false);

    await assert.rejects(useCase.execute({ target: owned, idempotencyKey: 'k' }), (err) => {
      assert.ok(err instanceof WorkflowBusyError);
      assert.equal(err.status, 409);
      assert.deepEqual(err.details, { triggerStatus: 'pending' });
      return true;
    });
    assert.deepEqual(callsTo(tx, WRITES), ['workflows.acceptRun', 'idempotency.putIfAbsent']);
  });

  test('a busy workflow without a key: the same 409 with the current status', async () => {
    const { tx, useCase } = setup();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ trigger: { type: 'manual', status: 'busy' } }));
    tx.workflows.acceptRun.mock.mockImplementation(async () => false);
    await assert.rejects(useCase.execute({ target: owned }), (err) => err instanceof WorkflowBusyError && (err.details as { triggerStatus: string }).triggerStatus === 'busy');
  });

  test('a replayed key answers with the first run and writes nothing else', async () => {
    const { tx, useCase } = setup();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ trigger: { type: 'manual', status: 'busy' } }));
    tx.idempotency.putIfAbsent.mock.mockImplementation(async () => 'exec-first');
    tx.executions.get.mock.mockImplementation(async () => ({ executionId: 'exec-first', workflowId: 'wf-1', status: 'running' }) as Execution);

    const result = await useCase.execute({ target: owned, idempotencyKey: 'key-1' });

    assert.deepEqual(result, { executionId: 'exec-first', status: 'running', replayed: true });
    assert.deepEqual(tx.idempotency.putIfAbsent.mock.calls[0]?.arguments.filter((_, i) => i !== 2), ['owner-1', 'key-1', new Date(NOW), NOT_BEFORE]);
    assert.deepEqual(callsTo(tx, WRITES), ['idempotency.putIfAbsent'], 'which found the first run and recorded nothing');
  });

  test('a key first used for another workflow of the same owner is a 409, not that other run', async () => {
    const { tx, useCase } = setup();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow());
    tx.idempotency.putIfAbsent.mock.mockImplementation(async () => 'exec-other');
    tx.executions.get.mock.mockImplementation(async () => ({ executionId: 'exec-other', workflowId: 'wf-2', status: 'queued' }) as Execution);

    await assert.rejects(useCase.execute({ target: owned, idempotencyKey: 'key-1' }), { code: 'idempotency_key_reused', status: 409 });
    assert.deepEqual(callsTo(tx, WRITES), ['idempotency.putIfAbsent'], 'which found the other run and recorded nothing');
  });

  test('a disabled workflow is refused with workflow_disabled and nothing written', async () => {
    const { tx, useCase } = setup();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ enabled: false }));
    await assert.rejects(useCase.execute({ target: owned }), (err) => err instanceof ConflictError && err.code === 'workflow_disabled');
    assert.deepEqual(callsTo(tx, WRITES), []);
  });

  test('a workflow the owner does not have is not found', async () => {
    const { tx, useCase } = setup();
    tx.workflows.get.mock.mockImplementation(async () => null);
    await assert.rejects(useCase.execute({ target: owned }), NotFoundError);
    assert.deepEqual(tx.workflows.get.mock.calls[0]?.arguments, ['owner-1', 'wf-1']);
    assert.deepEqual(callsTo(tx, WRITES), []);
  });

  describe('through a hook', () => {
    const hooked = (secret: string) =>
      aWorkflow({ ownerId: 'hook-owner', trigger: { type: 'webhook', status: 'idle', hookId: 'h1', secretHash: hashHookSecret(secret) } });

    test('the right secret runs the hook owner’s workflow as a webhook run, keyed by that owner', async () => {
      const { tx, useCase } = setup();
      tx.workflows.findByHookId.mock.mockImplementation(async () => hooked('s3cret'));
      tx.idempotency.putIfAbsent.mock.mockImplementation(async (_owner, _key, executionId) => executionId);
      tx.workflows.acceptRun.mock.mockImplementation(async () => true);

      await useCase.execute({ target: { kind: 'hook', hookId: 'h1', secret: 's3cret' }, payload: { a: 1 }, idempotencyKey: 'k' });

      assert.deepEqual(tx.workflows.findByHookId.mock.calls[0]?.arguments, ['h1']);
      const execution = tx.workflows.acceptRun.mock.calls[0]?.arguments[0] as Execution;
      assert.equal(execution.trigger.type, 'webhook');
      assert.equal(execution.ownerId, 'hook-owner');
      assert.equal(tx.idempotency.putIfAbsent.mock.calls[0]?.arguments[0], 'hook-owner');
    });

    test('a wrong secret and an unknown hook are the same not-found, with nothing written', async () => {
      const { tx, useCase } = setup();
      tx.workflows.findByHookId.mock.mockImplementation(async (hookId) => (hookId === 'h1' ? hooked('s3cret') : null));
      const wrong = await useCase.execute({ target: { kind: 'hook', hookId: 'h1', secret: 'guess' } }).catch((e: unknown) => e);
      const unknown = await useCase.execute({ target: { kind: 'hook', hookId: 'nope', secret: 's3cret' } }).catch((e: unknown) => e);
      assert.ok(wrong instanceof NotFoundError);
      assert.ok(unknown instanceof NotFoundError);
      assert.equal(wrong.message, unknown.message);
      assert.deepEqual(callsTo(tx, WRITES), []);
      assert.equal(tx.idempotency.putIfAbsent.mock.callCount(), 0, 'a failed secret check does not reach the idempotency records');
    });
  });
});
