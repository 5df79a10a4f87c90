import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConflictError, DEFAULT_TOPICS, GroupCommit, NotFoundError, type Execution, type Store, type Workflow } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { aWorkflow, FakeClock } from '@wf/shared/testing';
import { RecentWorkflows } from '../../src/app/recent-workflows.js';
import { TriggerWorkflow } from '../../src/app/trigger-workflow.js';

const NOW = '2026-02-01T10:00:00.000Z';
const owned = { kind: 'owned', ownerId: 'owner-1', workflowId: 'wf-1' } as const;
const logging = (message: string): Workflow['actions'] => [{ type: 'log', message }];

/** A trigger use case on a real memory store; the store is also "another instance" changing the workflow. */
async function setup() {
  const store = createMemoryStore();
  let reads = 0;
  const counted: Store = { ...store, workflows: { ...store.workflows, get: (...args) => (reads++, store.workflows.get(...args)) } };
  const clock = new FakeClock(NOW);
  const useCase = new TriggerWorkflow(new GroupCommit(counted), clock, DEFAULT_TOPICS);
  await store.workflows.create(aWorkflow({ actions: logging('first') }));
  /** Runs a trigger and lets its run end, so that the workflow is idle again. */
  const triggerAndFinish = async (): Promise<Execution> => {
    const { executionId } = await useCase.execute({ target: owned });
    await store.workflows.setTriggerStatus('owner-1', 'wf-1', executionId, ['busy'], 'idle', clock.now());
    return (await store.executions.get(executionId))!;
  };
  const change = async (changes: Partial<Workflow>) => {
    const current = (await store.workflows.get('owner-1', 'wf-1'))!;
    await store.workflows.replace({ ...current, ...changes, version: current.version + 1 }, current.version);
  };
  return { store, useCase, triggerAndFinish, change, reads: () => reads };
}

describe('TriggerWorkflow remembers the workflows it read', () => {
  test('a second manual trigger of the same workflow does not read it again', async () => {
    const { triggerAndFinish, reads } = await setup();
    await triggerAndFinish();
    assert.equal(reads(), 1);
    const second = await triggerAndFinish();
    assert.equal(reads(), 1, 'the accept checked the remembered revision instead');
    assert.deepEqual(second.actions, logging('first'));
  });

  test('a change made elsewhere is what the next run runs', async () => {
    const { triggerAndFinish, change } = await setup();
    await triggerAndFinish();
    await change({ actions: logging('second') });
    const run = await triggerAndFinish();
    assert.deepEqual(run.actions, logging('second'));
    assert.equal(run.workflowVersion, 2);
  });

  test('a workflow deleted and created again elsewhere (version 1 again) runs its new actions', async () => {
    const { store, triggerAndFinish } = await setup();
    await triggerAndFinish();
    await store.workflows.delete('owner-1', 'wf-1');
    await store.workflows.create(aWorkflow({ actions: logging('recreated'), createdAt: new Date('2026-01-15T00:00:00Z') }));
    const run = await triggerAndFinish();
    assert.deepEqual(run.actions, logging('recreated'));
    assert.equal(run.workflowVersion, 1);
  });

  test('disabled elsewhere is refused, enabled again elsewhere runs; deleted elsewhere is not found', async () => {
    const { store, useCase, triggerAndFinish, change } = await setup();
    await triggerAndFinish();
    await change({ enabled: false });
    await assert.rejects(useCase.execute({ target: owned }), (err) => err instanceof ConflictError && err.code === 'workflow_disabled');
    await change({ enabled: true });
    assert.equal((await triggerAndFinish()).workflowVersion, 3);
    await store.workflows.delete('owner-1', 'wf-1');
    await assert.rejects(useCase.execute({ target: owned }), NotFoundError);
  });

  test('busy is still answered from the store: 409 while the run holds the workflow', async () => {
    const { useCase, triggerAndFinish } = await setup();
    await triggerAndFinish();
    await useCase.execute({ target: owned });
    await assert.rejects(useCase.execute({ target: owned }), (err) => err instanceof ConflictError && err.code === 'workflow_busy');
  });
});

describe('RecentWorkflows', () => {
  const workflow = (workflowId: string, message = 'x') => aWorkflow({ workflowId, actions: logging(message) });

  test('keeps at most maxEntries, forgetting the oldest first', () => {
    const recent = new RecentWorkflows({ maxEntries: 2, maxActionChars: 1_000_000 });
    for (const id of ['a', 'b', 'c']) recent.remember(workflow(id));
    assert.equal(recent.size, 2);
    assert.equal(recent.get('owner-1', 'a'), undefined);
    assert.equal(recent.get('owner-1', 'c')?.workflowId, 'c');
  });

  test('keeps at most maxActionChars of actions, and never one larger than that', () => {
    const size = JSON.stringify(logging('x'.repeat(100))).length;
    const recent = new RecentWorkflows({ maxEntries: 100, maxActionChars: size * 2 });
    for (const id of ['a', 'b', 'c']) recent.remember(workflow(id, 'x'.repeat(100)));
    assert.deepEqual(['a', 'b', 'c'].map((id) => recent.get('owner-1', id) !== undefined), [false, true, true]);
    recent.remember(workflow('huge', 'x'.repeat(1_000)));
    assert.equal(recent.get('owner-1', 'huge'), undefined);
    assert.equal(recent.size, 2);
  });

  test('a disabled workflow is forgotten rather than kept', () => {
    const recent = new RecentWorkflows();
    recent.remember(workflow('a'));
    recent.remember({ ...workflow('a'), enabled: false });
    assert.equal(recent.get('owner-1', 'a'), undefined);
  });

  test('workflows are kept per owner', () => {
    const recent = new RecentWorkflows();
    recent.remember(workflow('a'));
    assert.equal(recent.get('owner-2', 'a'), undefined);
  });
});
