import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualWorkflow, startApiForSuite, triggerRun, triggerStatus as readTriggerStatus, type TestApi } from '../support/api.js';

describe('run control: cancel and re-run over the API (the runner played through the store)', () => {
  let api: TestApi;
  let token: string;
  let userId: string;
  startApiForSuite((suite) => ({ api, token, userId } = suite));

  const twoSteps = (workflowId: string) =>
    manualWorkflow(workflowId, { actions: [{ type: 'log', message: 'one' }, { type: 'http-request', url: 'https://example.com/two', method: 'POST' }] });
  const trigger = (workflowId: string, body?: object) => triggerRun(api, token, workflowId, body);
  const triggerStatus = (workflowId: string) => readTriggerStatus(api, token, workflowId);
  /** Plays a runner whose attempt completes. */
  const completeRun = async (executionId: string) => {
    await api.store.executions.claimForRun(executionId, 1, 30_000);
    await api.store.executions.finishAttempt(executionId, 1, { status: 'completed', at: api.clock.now(), retriesLeft: 3 });
  };
  /** Plays a runner whose first step succeeds and whose second fails for good. */
  const failSecondStep = async (executionId: string, attempt = 1) => {
    const t = api.clock.now();
    await api.store.executions.claimForRun(executionId, attempt, 30_000);
    await api.store.executions.saveStep(executionId, attempt, { index: 0, type: 'log', status: 'succeeded', attempt, output: { message: 'one' }, startedAt: t, finishedAt: t }, 30_000);
    const step = { index: 1, type: 'http-request' as const, status: 'failed' as const, attempt, error: 'HTTP 500', startedAt: t, finishedAt: t };
    await api.store.executions.finishAttempt(executionId, attempt, { status: 'failed', at: t, retriesLeft: 0, error: 'step 1 failed', step });
  };

  test('cancel a queued run: cancelled at once, the workflow free again, idempotent; 404 for another user', async () => {
    await api.call('POST', '/workflows', { token, body: twoSteps('queued-one') });
    const id = await trigger('queued-one');
    assert.equal(await triggerStatus('queued-one'), 'busy');
    const res = await api.call('POST', `/executions/${id}/cancel`, { token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'cancelled');
    assert.ok(res.body.finishedAt);
    assert.deepEqual(res.body.steps.map((s: { status: string }) => s.status), ['pending', 'pending']);
    assert.equal(await triggerStatus('queued-one'), 'idle');
    const again = await api.call('POST', `/executions/${id}/cancel`, { token });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, res.body, 'a second cancel answers the same run');
    const other = await api.user();
    assert.equal((await api.call('POST', `/executions/${id}/cancel`, { token: other.token })).status, 404);
    assert.equal((await api.call('POST', '/executions/nope/cancel', { token })).status, 404);
    assert.equal(await api.store.executions.claimForRun(id, 1, 1_000), null, 'no runner takes it');
  });

  test('cancel a run waiting for its retry, and a running one (its step in flight ends failed as cancelled); 409 for a finished run', async () => {
    await api.call('POST', '/workflows', { token, body: twoSteps('waiting-one') });
    const waiting = await trigger('waiting-one');
    const t = api.clock.now();
    await api.store.executions.claimForRun(waiting, 1, 30_000);
    await api.store.executions.finishAttempt(waiting, 1, { status: 'pending_retry', at: t, nextAttemptAt: new Date(t.getTime() + 60_000), retriesLeft: 2, error: 'HTTP 503' });
    await api.store.workflows.setTriggerStatus(userId, 'waiting-one', waiting, ['busy'], 'pending', t);
    const w = await api.call('POST', `/executions/${waiting}/cancel`, { token });
    assert.equal(w.body.status, 'cancelled');
    assert.equal(w.body.nextAttemptAt, undefined);
    assert.equal(await triggerStatus('waiting-one'), 'idle');

    const running = await trigger('waiting-one');
    await api.store.executions.claimForRun(running, 1, 30_000);
    await api.store.executions.saveStep(running, 1, { index: 0, type: 'log', status: 'succeeded', attempt: 1, startedAt: t, finishedAt: t }, 30_000);
    await api.store.executions.saveStep(running, 1, { index: 1, type: 'http-request', status: 'running', attempt: 1, startedAt: t }, 30_000);
    const r = await api.call('POST', `/executions/${running}/cancel`, { token });
    assert.deepEqual(r.body.steps.map((s: { status: string }) => s.status), ['succeeded', 'failed']);
    assert.equal(r.body.steps[1].error, 'cancelled while running');

    await api.call('POST', '/workflows', { token, body: manualWorkflow('done-one') });
    const done = await trigger('done-one');
    await completeRun(done);
    const refused = await api.call('POST', `/executions/${done}/cancel`, { token });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'execution_finished');
    assert.deepEqual(refused.body.error.details, { status: 'completed' });
  });

  test('re-run from the failed step: the same execution on its next attempt, the succeeded step kept; busy guard; only failed or cancelled', async () => {
    await api.call('POST', '/workflows', { token, body: twoSteps('rerun-one') });
    const id = await trigger('rerun-one', { order: 7 });
    await failSecondStep(id);
    await api.store.workflows.setTriggerStatus(userId, 'rerun-one', id, ['busy'], 'idle', api.clock.now());
    const before = await api.store.executions.get(id);

    const res = await api.call('POST', `/executions/${id}/retry`, { token });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.body, { executionId: id, status: 'queued' });
    assert.equal(res.headers.get('location'), `/executions/${id}`);
    const resumed = await api.store.executions.get(id);
    assert.equal(resumed?.attempt, 2);
    assert.equal(resumed?.retriesLeft, before?.retryPolicy.maxRetries);
    assert.deepEqual(resumed?.steps[0], before?.steps[0], 'the succeeded step and its output are kept');
    assert.equal(resumed?.steps[1]?.status, 'pending');
    assert.equal(await triggerStatus('rerun-one'), 'busy');

    const busy = await api.call('POST', `/executions/${id}/retry`, { token, body: { from: 'start' } });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'workflow_busy');
    await failSecondStep(id, 2);
    await api.store.workflows.setTriggerStatus(userId, 'rerun-one', id, ['busy'], 'idle', api.clock.now());

    const fresh = await api.call('POST', `/executions/${id}/retry`, { token, body: { from: 'start' } });
    assert.equal(fresh.status, 202, fresh.text);
    assert.notEqual(fresh.body.executionId, id);
    const second = await api.call('GET', `/executions/${fresh.body.executionId}`, { token });
    assert.equal(second.body.rerunOf, id);
    assert.deepEqual(second.body.trigger.payload, { order: 7 }, 'the same payload');
    assert.equal(second.body.attempt, 1);

    await completeRun(fresh.body.executionId);
    await api.store.workflows.setTriggerStatus(userId, 'rerun-one', fresh.body.executionId, ['busy'], 'idle', api.clock.now());
    const notResumable = await api.call('POST', `/executions/${fresh.body.executionId}/retry`, { token, body: {} });
    assert.equal(notResumable.status, 409);
    assert.equal(notResumable.body.error.code, 'execution_not_resumable');
    const bad = await api.call('POST', `/executions/${id}/retry`, { token, body: { from: 'middle' } });
    assert.equal(bad.status, 400);
  });

  test('re-run of a run whose workflow is disabled or deleted is refused', async () => {
    await api.call('POST', '/workflows', { token, body: twoSteps('gone-one') });
    const id = await trigger('gone-one');
    await api.call('POST', `/executions/${id}/cancel`, { token });
    await api.call('PATCH', '/workflows/gone-one', { token, body: { enabled: false } });
    assert.equal((await api.call('POST', `/executions/${id}/retry`, { token })).body.error.code, 'workflow_disabled');
    await api.call('DELETE', '/workflows/gone-one', { token });
    assert.equal((await api.call('POST', `/executions/${id}/retry`, { token })).body.error.code, 'workflow_deleted');
  });

  test('all runs: filtered by status (cancelled too), workflow and since/until, across workflows', async () => {
    const res = await api.call('GET', '/executions?status=cancelled&limit=100', { token });
    assert.equal(res.status, 200);
    assert.ok(res.body.items.length >= 3);
    assert.ok(res.body.items.every((e: { status: string }) => e.status === 'cancelled'));
    assert.ok(new Set(res.body.items.map((e: { workflowId: string }) => e.workflowId)).size >= 2, 'across workflows');
    const now = api.clock.now().toISOString();
    const none = await api.call('GET', `/executions?status=cancelled&since=${encodeURIComponent(new Date(Date.parse(now) + 1).toISOString())}`, { token });
    assert.deepEqual(none.body, { items: [] });
    const until = await api.call('GET', `/executions?workflowId=queued-one&until=${encodeURIComponent(new Date(Date.parse(now) + 1).toISOString())}`, { token });
    assert.equal(until.body.items.length, 1);
    assert.equal((await api.call('GET', `/executions?since=${encodeURIComponent(now)}&from=${encodeURIComponent(now)}`, { token })).status, 400);
  });

  test('a definition carries trigger.overlap and retention.maxRuns; PUT without retention drops it', async () => {
    const created = await api.call('POST', '/workflows', {
      token,
      body: { workflowId: 'kept', trigger: { type: 'periodic', interval: '1m', overlap: 'queue' }, actions: [{ type: 'log', message: 'x' }], retention: { maxRuns: 10 } },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.trigger.overlap, 'queue');
    assert.deepEqual(created.body.retention, { maxRuns: 10 });
    const patched = await api.call('PATCH', '/workflows/kept', { token, body: { retention: { maxRuns: 3 } } });
    assert.deepEqual(patched.body.retention, { maxRuns: 3 });
    assert.equal(patched.body.trigger.overlap, 'queue');
    const replaced = await api.call('PUT', '/workflows/kept', { token, body: { trigger: { type: 'periodic', interval: '1m' }, actions: [{ type: 'log', message: 'x' }] } });
    assert.equal(replaced.body.retention, undefined);
    assert.equal(replaced.body.trigger.overlap, undefined);
    const bad = await api.call('POST', '/workflows', { token, body: { workflowId: 'bad', trigger: { type: 'manual', overlap: 'queue' }, actions: [{ type: 'log', message: 'x' }], retention: { maxRuns: 0 } } });
    assert.equal(bad.status, 400);
  });
});
