import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualWorkflow, startApiForSuite, triggerRun, type TestApi } from '../support/api.js';

describe('execution history', () => {
  let api: TestApi;
  let token: string;
  let userId: string;
  startApiForSuite((suite) => ({ api, token, userId } = suite));

  /** Triggers and, as a runner would, finishes the run so the next trigger is accepted. */
  const runOnce = async (workflowId: string, payload?: object) => {
    const executionId = await triggerRun(api, token, workflowId, payload);
    await api.store.workflows.setTriggerStatus(userId, workflowId, executionId, ['busy'], 'idle', api.clock.now());
    api.clock.advance(1_000);
    return executionId;
  };

  test('list: newest first, paginated, summaries without steps or payload', async () => {
    await api.call('POST', '/workflows', { token, body: manualWorkflow('history') });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await runOnce('history', { i }));
    const newestFirst = [...ids].reverse();

    const first = await api.call('GET', '/workflows/history/executions?limit=2', { token });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.items.map((e: { executionId: string }) => e.executionId), newestFirst.slice(0, 2));
    assert.equal('steps' in first.body.items[0], false);
    assert.equal('payload' in first.body.items[0].trigger, false);
    assert.equal(first.body.items[0].status, 'queued');

    const rest = await api.call('GET', `/workflows/history/executions?limit=10&cursor=${first.body.nextCursor}`, { token });
    assert.deepEqual(rest.body.items.map((e: { executionId: string }) => e.executionId), newestFirst.slice(2));
    assert.equal('nextCursor' in rest.body, false);
  });

  test('list: an unknown workflow is 404, a workflow without runs is an empty page', async () => {
    assert.equal((await api.call('GET', '/workflows/none/executions', { token })).status, 404);
    await api.call('POST', '/workflows', { token, body: manualWorkflow('quiet') });
    const empty = await api.call('GET', '/workflows/quiet/executions', { token });
    assert.deepEqual(empty.body, { items: [] });
  });

  test('one execution: steps with status, output, error and times; attempt, retries, next attempt, trigger', async () => {
    await api.call('POST', '/workflows', {
      token,
      body: { ...manualWorkflow('detail'), actions: [{ type: 'log', message: 'one' }, { type: 'http-request', url: 'https://example.com', method: 'GET' }] },
    });
    const executionId = await runOnce('detail', { orderId: 1 });
    // Play the runner: first step succeeded, second failed, retry scheduled.
    const t = api.clock.now();
    await api.store.executions.claimForRun(executionId, 1, 30_000);
    await api.store.executions.saveStep(executionId, 1, { index: 0, type: 'log', status: 'succeeded', attempt: 1, output: { logged: 'one' }, startedAt: t, finishedAt: t }, 30_000);
    await api.store.executions.saveStep(executionId, 1, { index: 1, type: 'http-request', status: 'failed', attempt: 1, error: 'HTTP 503', startedAt: t, finishedAt: t }, 30_000);
    const retryAt = new Date(t.getTime() + 2_000);
    await api.store.executions.finishAttempt(executionId, 1, { status: 'pending_retry', at: t, nextAttemptAt: retryAt, error: 'HTTP 503', retriesLeft: 2 });

    const res = await api.call('GET', `/executions/${executionId}`, { token });
    assert.equal(res.status, 200);
    const iso = t.toISOString();
    assert.deepEqual(res.body.steps, [
      { index: 0, type: 'log', status: 'succeeded', attempt: 1, output: { logged: 'one' }, startedAt: iso, finishedAt: iso },
      { index: 1, type: 'http-request', status: 'failed', attempt: 1, error: 'HTTP 503', startedAt: iso, finishedAt: iso },
    ]);
    assert.equal(res.body.status, 'pending_retry');
    assert.equal(res.body.attempt, 1);
    assert.equal(res.body.retriesLeft, 2);
    assert.equal(res.body.nextAttemptAt, retryAt.toISOString());
    assert.equal(res.body.error, 'HTTP 503');
    assert.equal(res.body.workflowId, 'detail');
    assert.deepEqual(res.body.trigger.payload, { orderId: 1 });
    assert.equal('leaseUntil' in res.body, false);
    assert.equal('ownerId' in res.body, false);
  });

  test('an unknown or malformed execution id: 404 / 400', async () => {
    assert.equal((await api.call('GET', '/executions/00000000-0000-0000-0000-000000000000', { token })).status, 404);
    const bad = await api.call('GET', `/executions/${encodeURIComponent('../etc')}`, { token });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.error.details.map((d: { path: string }) => d.path), ['executionId']);
  });
});
