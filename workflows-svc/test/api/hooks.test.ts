import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startApi, startApiForSuite, webhookWorkflow, type TestApi } from '../support/api.js';

describe('webhooks', () => {
  let api: TestApi;
  let token: string;
  let userId: string;
  startApiForSuite((suite) => ({ api, token, userId } = suite));

  const createHook = async (workflowId: string) => {
    const res = await api.call('POST', '/workflows', { token, body: webhookWorkflow(workflowId) });
    assert.equal(res.status, 201);
    return res.body.hook as { hookId: string; url: string; secret: string };
  };
  const idle = (workflowId: string, executionId: string) => api.store.workflows.setTriggerStatus(userId, workflowId, executionId, ['busy'], 'idle', api.clock.now());
  const backlog = async () => (await api.store.outbox.backlog(api.clock.now())).count;

  test('without PUBLIC_BASE_URL the hook URL uses the request’s origin', async () => {
    const hook = await createHook('origin');
    assert.equal(hook.url, `${api.url}/hooks/${hook.hookId}`);
  });

  test('secret in X-Hook-Secret: no login needed, the JSON body becomes the payload, a webhook run of the owner', async () => {
    const hook = await createHook('by-header');
    const res = await api.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': hook.secret }, body: { event: 'push' } });
    assert.equal(res.status, 202);
    const execution = await api.store.executions.get(res.body.executionId);
    assert.equal(execution?.ownerId, userId);
    assert.equal(execution?.workflowId, 'by-header');
    assert.deepEqual(execution?.trigger, { type: 'webhook', firedAt: api.clock.now(), payload: { event: 'push' } });
    const read = await api.call('GET', `/executions/${res.body.executionId}`, { token });
    assert.equal(read.body.trigger.type, 'webhook');
  });

  test('secret in the path works too, and stays out of the access log', async () => {
    const hook = await createHook('by-path');
    const res = await api.call('POST', `/hooks/${hook.hookId}/${hook.secret}`);
    assert.equal(res.status, 202);
    assert.equal(api.logs.join('').includes(hook.secret), false);
  });

  test('wrong secret, missing secret, unknown hook, malformed hook id: the same 404, nothing created', async () => {
    const hook = await createHook('guarded');
    const queued = await backlog();
    const answers = await Promise.all([
      api.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': `${hook.secret}x` } }),
      api.call('POST', `/hooks/${hook.hookId}/not-the-secret`),
      api.call('POST', `/hooks/${hook.hookId}`),
      api.call('POST', '/hooks/unknownhookid', { headers: { 'x-hook-secret': hook.secret } }),
      api.call('POST', `/hooks/${encodeURIComponent('bad id!')}`, { headers: { 'x-hook-secret': hook.secret } }),
    ]);
    for (const res of answers) {
      assert.equal(res.status, 404);
      assert.equal(res.text, answers[0]?.text);
    }
    assert.equal(await backlog(), queued);
    assert.equal((await api.store.workflows.get(userId, 'guarded'))?.trigger.status, 'idle');
  });

  test('busy → 409 with the status; Idempotency-Key replays under the owner', async () => {
    const hook = await createHook('hook-idem');
    const headers = { 'x-hook-secret': hook.secret, 'idempotency-key': 'delivery-1' };
    const first = await api.call('POST', `/hooks/${hook.hookId}`, { headers });
    assert.equal(first.status, 202);
    const replay = await api.call('POST', `/hooks/${hook.hookId}`, { headers });
    assert.equal(replay.status, 202);
    assert.equal(replay.body.executionId, first.body.executionId);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const busy = await api.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': hook.secret } });
    assert.equal(busy.status, 409);
    assert.deepEqual(busy.body.error.details, { triggerStatus: 'busy' });
    // The key belongs to the owner: the owner's manual retry with it is a replay too.
    const manual = await api.call('POST', '/workflows/hook-idem/trigger', { token, headers: { 'idempotency-key': 'delivery-1' } });
    assert.equal(manual.body.executionId, first.body.executionId);
  });

  test('disabled → 409 workflow_disabled', async () => {
    const hook = await createHook('hook-off');
    await api.call('PATCH', '/workflows/hook-off', { token, body: { enabled: false } });
    const res = await api.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': hook.secret } });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'workflow_disabled');
  });

  test('body rules apply: non-object 400, non-JSON 415', async () => {
    const hook = await createHook('hook-body');
    const array = await api.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': hook.secret }, body: ['x'] });
    assert.equal(array.status, 400);
    const form = await api.call('POST', `/hooks/${hook.hookId}`, {
      headers: { 'x-hook-secret': hook.secret, 'content-type': 'application/x-www-form-urlencoded' },
      raw: 'a=1',
    });
    assert.equal(form.status, 415);
  });

  test('rotation: 200 with a new secret; the old one stops working, the new one works', async () => {
    const hook = await createHook('rotating');
    const rotated = await api.call('POST', '/workflows/rotating/hook/rotate', { token });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.hookId, hook.hookId);
    assert.equal(rotated.body.url, hook.url);
    assert.notEqual(rotated.body.secret, hook.secret);
    assert.equal(rotated.headers.get('cache-control'), 'no-store');

    const old = await api.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': hook.secret } });
    assert.equal(old.status, 404);
    const fresh = await api.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': rotated.body.secret } });
    assert.equal(fresh.status, 202);
    await idle('rotating', fresh.body.executionId);
    const byPath = await api.call('POST', `/hooks/${hook.hookId}/${rotated.body.secret}`);
    assert.equal(byPath.status, 202);
    const read = await api.call('GET', '/workflows/rotating', { token });
    assert.equal(read.text.includes(rotated.body.secret), false);
  });

  test('per-hook rate limit: 429 with Retry-After', async () => {
    const limited = await startApi({ env: { TRIGGER_RATE_LIMIT_PER_WORKFLOW: '1' } });
    try {
      const { token: t } = await limited.user();
      const hook = (await limited.call('POST', '/workflows', { token: t, body: webhookWorkflow('h') })).body.hook;
      assert.equal((await limited.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': hook.secret } })).status, 202);
      const res = await limited.call('POST', `/hooks/${hook.hookId}`, { headers: { 'x-hook-secret': hook.secret } });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    } finally {
      await limited.close();
    }
  });
});
