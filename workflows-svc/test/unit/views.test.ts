import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Execution } from '@wf/shared';
import { loggablePath } from '../../src/http/middleware/request-context.js';
import { executionSummaryView, executionView, workflowView } from '../../src/http/views.js';
import { aWorkflow } from '@wf/shared/testing';

const at = new Date('2026-02-01T10:00:00.000Z');

test('a workflow view shows the hook but never its hash, the lease or the owner', () => {
  const wf = aWorkflow({
    trigger: { type: 'webhook', status: 'busy', hookId: 'h1', secretHash: 'deadbeef', leaseUntil: at },
  });
  const view = workflowView(wf, 'https://api.example.com');
  const json = JSON.stringify(view);
  for (const hidden of ['deadbeef', 'secretHash', 'leaseUntil', 'owner-1', 'ownerId']) assert.equal(json.includes(hidden), false, hidden);
  assert.deepEqual(view.trigger, { type: 'webhook', status: 'busy' });
  assert.deepEqual(view.hook, { hookId: 'h1', url: 'https://api.example.com/hooks/h1' });
  assert.deepEqual(workflowView(wf, 'https://x', 'the-secret').hook, { hookId: 'h1', url: 'https://x/hooks/h1', secret: 'the-secret' });
  assert.equal(view.createdAt, '2026-01-01T00:00:00.000Z');
});

test('a scheduled trigger shows its spec, status and next run as ISO', () => {
  const wf = aWorkflow({ trigger: { type: 'cron', cron: '0 * * * *', timezone: 'UTC', status: 'idle', nextRunAt: at } });
  assert.deepEqual(workflowView(wf, 'x').trigger, { type: 'cron', cron: '0 * * * *', timezone: 'UTC', catchUp: 'none', status: 'idle', nextRunAt: at.toISOString() });
  assert.equal('hook' in workflowView(wf, 'x'), false);
});

test('an execution view has the steps; the summary leaves out steps and payload', () => {
  const execution: Execution = {
    executionId: 'e1',
    workflowId: 'wf-1',
    ownerId: 'owner-1',
    workflowVersion: 2,
    actions: [{ type: 'log', message: 'x' }],
    retryPolicy: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 10 },
    trigger: { type: 'manual', firedAt: at, payload: { a: 1 } },
    status: 'pending_retry',
    attempt: 1,
    retriesLeft: 1,
    nextAttemptAt: at,
    leaseUntil: at,
    steps: [{ index: 0, type: 'log', status: 'failed', attempt: 1, error: 'boom', startedAt: at, finishedAt: at }],
    createdAt: at,
    updatedAt: at,
  };
  const full = executionView(execution);
  assert.deepEqual(full.steps, [
    { index: 0, type: 'log', status: 'failed', attempt: 1, error: 'boom', startedAt: at.toISOString(), finishedAt: at.toISOString() },
  ]);
  assert.deepEqual(full.trigger, { type: 'manual', firedAt: at.toISOString(), payload: { a: 1 } });
  assert.equal(full.nextAttemptAt, at.toISOString());
  assert.equal(JSON.stringify(full).includes('leaseUntil'), false);
  assert.equal(JSON.stringify(full).includes('owner-1'), false);
  const summary = executionSummaryView(execution);
  assert.equal('steps' in summary, false);
  assert.deepEqual(summary.trigger, { type: 'manual', firedAt: at.toISOString() });
});

test('access-log paths drop the query and a hook secret in the path', () => {
  assert.equal(loggablePath('/workflows/a?limit=5&cursor=x'), '/workflows/a');
  assert.equal(loggablePath('/hooks/abc/s3cr3t'), '/hooks/abc/[redacted]');
  assert.equal(loggablePath('/hooks/abc/s3cr3t/more'), '/hooks/abc/[redacted]');
  assert.equal(loggablePath('/hooks/abc'), '/hooks/abc');
});
