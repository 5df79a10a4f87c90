import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger, type Execution, type Workflow } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { aWorkflow, anExecution, FakeClock } from '@wf/shared/testing';
import { ExecutionRetention } from '../src/index.js';

const DAY = 24 * 3600 * 1000;

function workflow(workflowId: string, extra: Partial<Workflow> = {}): Workflow {
  const at = new Date(0);
  return aWorkflow({ workflowId, ownerId: 'o', createdAt: at, updatedAt: at, ...extra });
}

function run(workflowId: string, createdAt: Date, status: Execution['status'], finishedAt?: Date): Execution {
  return anExecution({ executionId: `${workflowId}-${createdAt.getTime()}`, workflowId, ownerId: 'o', status, createdAt, ...(finishedAt ? { finishedAt } : {}) });
}

describe('ExecutionRetention', () => {
  it('deletes finished runs past the retention period and those beyond a workflow\'s maxRuns, never unfinished ones, at most once per period', async () => {
    const clock = new FakeClock('2026-03-01T00:00:00.000Z');
    const store = createMemoryStore();
    const now = clock.now().getTime();
    const ago = (ms: number) => new Date(now - ms);
    await store.workflows.create(workflow('plain'));
    await store.workflows.create(workflow('capped', { retention: { maxRuns: 2 } }));
    const oldDone = run('plain', ago(40 * DAY), 'completed', ago(40 * DAY));
    const oldFailed = run('plain', ago(35 * DAY), 'failed', ago(31 * DAY));
    const oldWaiting = run('plain', ago(45 * DAY), 'pending_retry');
    const recent = run('plain', ago(10 * DAY), 'cancelled', ago(10 * DAY));
    const capped = [1, 2, 3, 4].map((i) => run('capped', ago(i * 1000), 'completed', ago(i * 1000 - 10)));
    const cappedRunning = run('capped', ago(10_000), 'running');
    for (const e of [oldDone, oldFailed, oldWaiting, recent, ...capped, cappedRunning]) await store.executions.insert(e);

    const job = new ExecutionRetention(
      { executions: store.executions, workflows: store.workflows, clock, logger: silentLogger },
      { retentionMs: 30 * DAY, everyMs: 60_000, batchSize: 1, maxBatches: 100 },
    );
    assert.deepEqual(await job.runOnce(), { expired: 2, beyondMaxRuns: 2 });
    const left = async (workflowId: string) => (await store.executions.listByWorkflow('o', workflowId, { limit: 100 })).items.map((e) => e.executionId).sort();
    assert.deepEqual(await left('plain'), [oldWaiting.executionId, recent.executionId].sort(), 'unfinished and recent runs stay');
    assert.deepEqual(await left('capped'), [capped[0]!.executionId, capped[1]!.executionId, cappedRunning.executionId].sort(), 'the newest two, and the run in progress');
    await store.executions.insert(run('capped', ago(20_000), 'completed', ago(20_000)));
    assert.deepEqual(await job.runOnce(), { expired: 0, beyondMaxRuns: 0 }, 'not again within the period');
    clock.advance(60_000);
    assert.deepEqual(await job.runOnce(), { expired: 0, beyondMaxRuns: 1 });
  });

  it('stops a pass after maxBatches statements; the next pass goes on', async () => {
    const clock = new FakeClock('2026-03-01T00:00:00.000Z');
    const store = createMemoryStore();
    for (let i = 0; i < 5; i++) await store.executions.insert(run('plain', new Date(i), 'completed', new Date(i)));
    const job = new ExecutionRetention({ executions: store.executions, workflows: store.workflows, clock, logger: silentLogger }, { retentionMs: DAY, everyMs: 1, batchSize: 2, maxBatches: 2 });
    assert.equal((await job.runOnce()).expired, 4);
    clock.advance(1);
    assert.equal((await job.runOnce()).expired, 1);
  });
});
