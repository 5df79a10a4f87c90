import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEED_WORKFLOW, manualWorkflow, startApi, startApiForSuite, type TestApi } from '../support/api.js';

describe('manual trigger', () => {
  let api: TestApi;
  let token: string;
  let userId: string;
  startApiForSuite((suite) => ({ api, token, userId } = suite));

  const create = async (body: object) => assert.equal((await api.call('POST', '/workflows', { token, body })).status, 201);
  const backlog = async () => (await api.store.outbox.backlog(api.clock.now())).count;

  test('202 { executionId, status } with Location; execution queued, outbox message, status busy', async () => {
    await create(manualWorkflow('run-me'));
    const before = await backlog();
    const res = await api.call('POST', '/workflows/run-me/trigger', { token, body: { orderId: 42 } });
    assert.equal(res.status, 202);
    assert.deepEqual(Object.keys(res.body).sort(), ['executionId', 'status']);
    assert.equal(res.body.status, 'queued');
    assert.equal(res.headers.get('location'), `/executions/${res.body.executionId}`);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(res.text)));

    const execution = await api.store.executions.get(res.body.executionId);
    assert.equal(execution?.status, 'queued');
    assert.equal(execution?.ownerId, userId);
    assert.deepEqual(execution?.trigger, { type: 'manual', firedAt: api.clock.now(), payload: { orderId: 42 } });
    assert.equal(await backlog(), before + 1);
    assert.equal((await api.store.workflows.get(userId, 'run-me'))?.trigger.status, 'busy');
    const read = await api.call('GET', res.headers.get('location') ?? '', { token });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.trigger.payload, { orderId: 42 });
  });

  test('while busy or pending: 409 workflow_busy with the status, and nothing created', async () => {
    await create(manualWorkflow('busy-one'));
    const running = await api.call('POST', '/workflows/busy-one/trigger', { token });
    assert.equal(running.status, 202);
    const executions = (await api.store.executions.listByWorkflow(userId, 'busy-one', { limit: 100 })).items.length;
    const queued = await backlog();

    const busy = await api.call('POST', '/workflows/busy-one/trigger', { token });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'workflow_busy');
    assert.deepEqual(busy.body.error.details, { triggerStatus: 'busy' });

    await api.store.workflows.setTriggerStatus(userId, 'busy-one', running.body.executionId, ['busy'], 'pending', api.clock.now());
    const pending = await api.call('POST', '/workflows/busy-one/trigger', { token });
    assert.equal(pending.status, 409);
    assert.deepEqual(pending.body.error.details, { triggerStatus: 'pending' });

    assert.equal((await api.store.executions.listByWorkflow(userId, 'busy-one', { limit: 100 })).items.length, executions);
    assert.equal(await backlog(), queued);
  });

  test('any trigger type can be run by hand, e.g. the seed’s periodic workflow', async () => {
    await create(SEED_WORKFLOW);
    const res = await api.call('POST', '/workflows/recurrent-workflow/trigger', { token });
    assert.equal(res.status, 202);
    assert.equal((await api.store.executions.get(res.body.executionId))?.trigger.type, 'manual');
  });

  test('a disabled workflow: 409 workflow_disabled, nothing created', async () => {
    await create(manualWorkflow('off', { enabled: false }));
    const queued = await backlog();
    const res = await api.call('POST', '/workflows/off/trigger', { token });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'workflow_disabled');
    assert.equal(await backlog(), queued);
    assert.equal((await api.store.workflows.get(userId, 'off'))?.trigger.status, 'idle');
  });

  test('a missing workflow: 404', async () => {
    const res = await api.call('POST', '/workflows/nope/trigger', { token });
    assert.equal(res.status, 404);
  });

  test('the body must be a JSON object: an array or a bare value is 400', async () => {
    await create(manualWorkflow('payloads'));
    const array = await api.call('POST', '/workflows/payloads/trigger', { token, body: [1, 2] });
    assert.equal(array.status, 400);
    assert.equal(array.body.error.code, 'validation_failed');
    const bare = await api.call('POST', '/workflows/payloads/trigger', { token, raw: '"just a string"', headers: { 'content-type': 'application/json' } });
    assert.equal(bare.status, 400);
    assert.equal((await api.store.workflows.get(userId, 'payloads'))?.trigger.status, 'idle');
  });

  test('Idempotency-Key: a retry gets the first executionId, flagged, and creates nothing', async () => {
    await create(manualWorkflow('idem'));
    const headers = { 'idempotency-key': 'order-42-attempt' };
    const first = await api.call('POST', '/workflows/idem/trigger', { token, headers });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const queued = await backlog();

    // Even while the first run keeps the workflow busy, the retry is answered, not refused.
    const again = await api.call('POST', '/workflows/idem/trigger', { token, headers });
    assert.equal(again.status, 202);
    assert.equal(again.body.executionId, first.body.executionId);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(await backlog(), queued);
    assert.equal((await api.store.executions.listByWorkflow(userId, 'idem', { limit: 100 })).items.length, 1);

    // A different key is a new request: refused here only because the workflow is busy.
    const other = await api.call('POST', '/workflows/idem/trigger', { token, headers: { 'idempotency-key': 'another' } });
    assert.equal(other.status, 409);
  });

  test('Idempotency-Key: after 24 h the key is forgotten', async () => {
    const later = await startApi();
    try {
      const user = await later.user();
      await later.call('POST', '/workflows', { token: user.token, body: manualWorkflow('idem-old') });
      const headers = { 'idempotency-key': 'k-24h' };
      const first = await later.call('POST', '/workflows/idem-old/trigger', { token: user.token, headers });
      await later.store.workflows.setTriggerStatus(user.userId, 'idem-old', first.body.executionId, ['busy'], 'idle', later.clock.now());

      later.clock.advance(24 * 3600_000 - 1);
      const login = async () =>
        (await later.call('POST', '/auth/login', { body: { email: user.email, password: 'correct horse battery' } })).body.token as string;
      const within = await later.call('POST', '/workflows/idem-old/trigger', { token: await login(), headers });
      assert.equal(within.body.executionId, first.body.executionId, 'still a replay just inside the window');

      later.clock.advance(2);
      const after = await later.call('POST', '/workflows/idem-old/trigger', { token: await login(), headers });
      assert.equal(after.status, 202);
      assert.notEqual(after.body.executionId, first.body.executionId);
    } finally {
      await later.close();
    }
  });

  test('Idempotency-Key: reused for another workflow is 409 idempotency_key_reused', async () => {
    await create(manualWorkflow('idem-a'));
    await create(manualWorkflow('idem-b'));
    const headers = { 'idempotency-key': 'shared-key' };
    assert.equal((await api.call('POST', '/workflows/idem-a/trigger', { token, headers })).status, 202);
    const res = await api.call('POST', '/workflows/idem-b/trigger', { token, headers });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'idempotency_key_reused');
    assert.equal((await api.store.workflows.get(userId, 'idem-b'))?.trigger.status, 'idle');
  });

  test('Idempotency-Key: longer than 200 characters is 400 naming the header', async () => {
    await create(manualWorkflow('idem-bad'));
    const res = await api.call('POST', '/workflows/idem-bad/trigger', { token, headers: { 'idempotency-key': 'k'.repeat(201) } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ['Idempotency-Key']);
  });
});

describe('trigger rate limits', () => {
  test('per workflow: 429 with Retry-After beyond the limit; other workflows unaffected', async () => {
    const api = await startApi({ env: { TRIGGER_RATE_LIMIT_PER_WORKFLOW: '2' } });
    try {
      const { token } = await api.user();
      for (const id of ['w1', 'w2']) await api.call('POST', '/workflows', { token, body: manualWorkflow(id) });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await api.call('POST', '/workflows/w1/trigger', { token })).status);
      assert.deepEqual(statuses, [202, 409, 429]);
      const limited = await api.call('POST', '/workflows/w1/trigger', { token });
      assert.equal(limited.body.error.code, 'rate_limited');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal((await api.call('POST', '/workflows/w2/trigger', { token })).status, 202);
    } finally {
      await api.close();
    }
  });

  test('per user: counts across workflows, and not against another user', async () => {
    const api = await startApi({ env: { TRIGGER_RATE_LIMIT_PER_USER: '2' } });
    try {
      const alice = await api.user();
      const bob = await api.user();
      for (const id of ['a1', 'a2', 'a3']) await api.call('POST', '/workflows', { token: alice.token, body: manualWorkflow(id) });
      await api.call('POST', '/workflows', { token: bob.token, body: manualWorkflow('b1') });
      const statuses = [];
      for (const id of ['a1', 'a2', 'a3']) statuses.push((await api.call('POST', `/workflows/${id}/trigger`, { token: alice.token })).status);
      assert.deepEqual(statuses, [202, 202, 429]);
      assert.equal((await api.call('POST', '/workflows/b1/trigger', { token: bob.token })).status, 202);
    } finally {
      await api.close();
    }
  });
});
