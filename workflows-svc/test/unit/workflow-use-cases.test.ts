import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError, DEFAULT_RETRY_POLICY, NotFoundError, ValidationError, type Workflow } from '@wf/shared';
import { aWorkflow, FakeClock } from '@wf/shared/testing';
import { CreateWorkflow } from '../../src/app/create-workflow.js';
import { DeleteWorkflow } from '../../src/app/delete-workflow.js';
import { hashHookSecret } from '../../src/app/hook-secrets.js';
import { PatchWorkflow } from '../../src/app/patch-workflow.js';
import { ReplaceWorkflow } from '../../src/app/replace-workflow.js';
import { RotateHookSecret } from '../../src/app/rotate-hook-secret.js';
import { WRITES, callsTo, mockStore } from '../support/mock-store.js';

const NOW = '2026-02-01T10:00:00.000Z';
const clock = () => new FakeClock(NOW);
const target = { ownerId: 'owner-1', workflowId: 'wf-1' };

describe('CreateWorkflow', () => {
  test('fills the defaults: name = workflowId, enabled, default retry policy, version 1, idle', async () => {
    const { store, direct } = mockStore();
    const { workflow } = await new CreateWorkflow(store, clock()).execute('owner-1', {
      workflowId: 'recurrent-workflow',
      trigger: { type: 'periodic', interval: '10s' },
      actions: [{ type: 'http-request', url: 'https://google.com', method: 'GET' }],
    });
    const stored = direct.workflows.create.mock.calls[0]?.arguments[0];
    assert.deepEqual(stored, workflow);
    assert.deepEqual(workflow, {
      workflowId: 'recurrent-workflow',
      ownerId: 'owner-1',
      name: 'recurrent-workflow',
      enabled: true,
      trigger: { type: 'periodic', interval: '10s', status: 'idle', nextRunAt: new Date('2026-02-01T10:00:10.000Z') },
      actions: [{ type: 'http-request', url: 'https://google.com', method: 'GET' }],
      retryPolicy: DEFAULT_RETRY_POLICY,
      createdAt: new Date(NOW),
      updatedAt: new Date(NOW),
      version: 1,
    });
  });

  test('a webhook workflow stores the secret’s hash and returns the secret', async () => {
    const { store, direct } = mockStore();
    const result = await new CreateWorkflow(store, clock()).execute('owner-1', {
      workflowId: 'hooked',
      trigger: { type: 'webhook' },
      actions: [{ type: 'log', message: 'x' }],
    });
    const stored = direct.workflows.create.mock.calls[0]?.arguments[0] as Workflow;
    assert.ok(result.hookSecret);
    assert.equal(stored.trigger.secretHash, hashHookSecret(result.hookSecret));
    assert.equal(JSON.stringify(stored).includes(result.hookSecret), false, 'the secret itself is never stored');
  });

  test('the store’s duplicate conflict reaches the caller', async () => {
    const { store, direct } = mockStore();
    direct.workflows.create.mock.mockImplementation(async () => {
      throw new ConflictError('exists', undefined, 'workflow_exists');
    });
    await assert.rejects(
      new CreateWorkflow(store, clock()).execute('owner-1', { workflowId: 'a', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] }),
      { code: 'workflow_exists' },
    );
  });
});

describe('ReplaceWorkflow and PatchWorkflow', () => {
  const current = () =>
    aWorkflow({ name: 'old name', enabled: false, version: 4, trigger: { type: 'periodic', interval: '10s', status: 'busy', nextRunAt: new Date(NOW) } });

  test('replace writes the whole new definition with defaults, bumps the version, keeps the run status', async () => {
    const { store, tx } = mockStore();
    tx.workflows.get.mock.mockImplementation(async () => current());
    const { workflow } = await new ReplaceWorkflow(store, clock()).execute(target, {
      trigger: { type: 'manual' },
      actions: [{ type: 'log', message: 'new' }],
    });
    assert.deepEqual(tx.workflows.replace.mock.calls[0]?.arguments, [workflow, 4]);
    assert.equal(workflow.version, 5);
    assert.equal(workflow.name, 'wf-1', 'an omitted name falls back to the workflowId');
    assert.equal(workflow.enabled, true, 'an omitted enabled falls back to true');
    assert.deepEqual(workflow.trigger, { type: 'manual', status: 'busy' });
    assert.deepEqual(workflow.updatedAt, new Date(NOW));
  });

  test('replace refuses a body workflowId that differs from the path, before touching the store', async () => {
    const { store, uowRun } = mockStore();
    await assert.rejects(
      new ReplaceWorkflow(store, clock()).execute(target, { workflowId: 'other', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] }),
      (err) => err instanceof ValidationError && (err.details as Array<{ path: string }>)[0]?.path === 'workflowId',
    );
    assert.equal(uowRun.mock.callCount(), 0);
  });

  test('patch changes only the given fields', async () => {
    const { store, tx } = mockStore();
    tx.workflows.get.mock.mockImplementation(async () => current());
    const { workflow } = await new PatchWorkflow(store, clock()).execute(target, { enabled: true });
    const before = current();
    assert.deepEqual(workflow, { ...before, enabled: true, version: 5, updatedAt: new Date(NOW) });
  });

  test('If-Match with a stale version is a version_conflict and writes nothing', async () => {
    const { store, tx } = mockStore();
    tx.workflows.get.mock.mockImplementation(async () => current());
    await assert.rejects(new PatchWorkflow(store, clock()).execute({ ...target, expectedVersion: 3 }, { name: 'n' }), {
      code: 'version_conflict',
      details: { currentVersion: 4 },
    });
    assert.deepEqual(callsTo(tx, WRITES), []);
  });

  test('a missing workflow is not found', async () => {
    const { store, tx } = mockStore();
    tx.workflows.get.mock.mockImplementation(async () => null);
    await assert.rejects(new PatchWorkflow(store, clock()).execute(target, { name: 'n' }), NotFoundError);
    assert.deepEqual(callsTo(tx, WRITES), []);
  });
});

describe('DeleteWorkflow', () => {
  test('deletes in a unit of work after the version check', async () => {
    const { store, tx } = mockStore();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow({ version: 2 }));
    tx.workflows.delete.mock.mockImplementation(async () => true);
    await assert.rejects(new DeleteWorkflow(store).execute({ ...target, expectedVersion: 1 }), { code: 'version_conflict' });
    assert.equal(tx.workflows.delete.mock.callCount(), 0);
    await new DeleteWorkflow(store).execute({ ...target, expectedVersion: 2 });
    assert.deepEqual(tx.workflows.delete.mock.calls[0]?.arguments, ['owner-1', 'wf-1']);
  });
});

describe('RotateHookSecret', () => {
  test('keeps the hook id, replaces the stored hash with the new secret’s', async () => {
    const { store, tx } = mockStore();
    const old = aWorkflow({ trigger: { type: 'webhook', status: 'idle', hookId: 'h1', secretHash: hashHookSecret('old') } });
    tx.workflows.get.mock.mockImplementation(async () => old);
    const rotated = await new RotateHookSecret(store, clock()).execute(target);
    const written = tx.workflows.replace.mock.calls[0]?.arguments[0] as Workflow;
    assert.equal(rotated.hookId, 'h1');
    assert.equal(written.trigger.hookId, 'h1');
    assert.equal(written.trigger.secretHash, hashHookSecret(rotated.secret));
    assert.notEqual(rotated.secret, 'old');
    assert.equal(tx.workflows.replace.mock.calls[0]?.arguments[1], 1);
  });

  test('a workflow without a webhook trigger is a 409 not_a_webhook', async () => {
    const { store, tx } = mockStore();
    tx.workflows.get.mock.mockImplementation(async () => aWorkflow());
    await assert.rejects(new RotateHookSecret(store, clock()).execute(target), { status: 409, code: 'not_a_webhook' });
    assert.deepEqual(callsTo(tx, WRITES), []);
  });
});
