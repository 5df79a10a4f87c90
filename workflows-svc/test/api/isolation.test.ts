import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualWorkflow, startApi, webhookWorkflow } from '../support/api.js';

/**
 * Bob walks every route with Alice's workflow ids and execution id: each answer is the
 * same 404 a missing resource gets, and Alice's state is exactly as before.
 */
test('another user’s workflows and executions are 404 on every route, and nothing changes', async () => {
  const api = await startApi();
  try {
    const alice = await api.user();
    const bob = await api.user();
    await api.call('POST', '/workflows', { token: alice.token, body: manualWorkflow('alice-wf') });
    await api.call('POST', '/workflows', { token: alice.token, body: webhookWorkflow('alice-hook') });
    const run = await api.call('POST', '/workflows/alice-wf/trigger', { token: alice.token, headers: { 'idempotency-key': 'alice-key' } });
    assert.equal(run.status, 202);
    await api.store.workflows.setTriggerStatus(alice.userId, 'alice-wf', run.body.executionId, ['busy'], 'idle', api.clock.now());

    const snapshot = async () => ({
      workflows: (await api.call('GET', '/workflows', { token: alice.token })).body,
      executions: (await api.call('GET', '/workflows/alice-wf/executions', { token: alice.token })).body,
      execution: (await api.call('GET', `/executions/${run.body.executionId}`, { token: alice.token })).body,
      outbox: (await api.store.outbox.backlog(api.clock.now())).count,
    });
    const before = await snapshot();

    const attempts = [
      ['GET', '/workflows/alice-wf', undefined],
      ['PUT', '/workflows/alice-wf', { name: 'pwned', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] }],
      ['PATCH', '/workflows/alice-wf', { enabled: false }],
      ['DELETE', '/workflows/alice-wf', undefined],
      ['POST', '/workflows/alice-wf/trigger', { x: 1 }],
      ['POST', '/workflows/alice-hook/hook/rotate', undefined],
      ['GET', '/workflows/alice-wf/executions', undefined],
      ['GET', `/executions/${run.body.executionId}`, undefined],
    ] as const;
    for (const [method, path, body] of attempts) {
      const asBob = await api.call(method, path, { token: bob.token, ...(body ? { body } : {}) });
      assert.equal(asBob.status, 404, `${method} ${path}`);
      assert.equal(asBob.body.error.code, 'not_found', `${method} ${path}`);
      // Exactly what Bob gets for a workflow that does not exist at all.
      const missing = await api.call(method, path.replace(/alice-(wf|hook)/, 'no-such-wf'), { token: bob.token, ...(body ? { body } : {}) });
      const same = (text: string) => text.replace(/alice-(wf|hook)|no-such-wf/g, 'ID');
      if (!path.startsWith('/executions/')) assert.equal(same(asBob.text), same(missing.text), `${method} ${path}`);
    }

    // Alice's idempotency key means nothing to Bob: his own workflow runs fresh with it.
    await api.call('POST', '/workflows', { token: bob.token, body: manualWorkflow('alice-wf') });
    const bobRun = await api.call('POST', '/workflows/alice-wf/trigger', { token: bob.token, headers: { 'idempotency-key': 'alice-key' } });
    assert.equal(bobRun.status, 202);
    assert.notEqual(bobRun.body.executionId, run.body.executionId);
    assert.equal((await api.call('GET', '/workflows', { token: bob.token })).body.items.length, 1, 'Bob lists only his own');

    const afterwards = await snapshot();
    assert.deepEqual({ ...afterwards, outbox: afterwards.outbox - 1 }, before, 'only Bob’s own run was added');
  } finally {
    await api.close();
  }
});
