import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEED_WORKFLOW, manualWorkflow, startApiForSuite, webhookWorkflow, type TestApi } from '../support/api.js';

const paths = (res: { body: { error: { details?: Array<{ path: string }> } } }) => (res.body.error.details ?? []).map((d) => d.path);

describe('workflows CRUD', () => {
  let api: TestApi;
  let token: string;
  startApiForSuite((suite) => ({ api, token } = suite), { env: { PUBLIC_BASE_URL: 'https://hooks.example.com/' } });

  test('POST accepts the seed payload verbatim: 201 with defaults, status and next run', async () => {
    const res = await api.call('POST', '/workflows', { token, body: SEED_WORKFLOW });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/workflows/recurrent-workflow');
    assert.equal(res.headers.get('etag'), '"1"');
    const now = api.clock.now();
    assert.deepEqual(res.body, {
      workflowId: 'recurrent-workflow',
      name: 'recurrent-workflow',
      enabled: true,
      trigger: { type: 'periodic', interval: '10s', catchUp: 'none', status: 'idle', nextRunAt: new Date(now.getTime() + 10_000).toISOString() },
      actions: SEED_WORKFLOW.actions,
      retryPolicy: { maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 60000 },
      version: 1,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    const stored = await api.call('GET', '/workflows/recurrent-workflow', { token });
    assert.deepEqual(stored.body, res.body);
  });

  test('trigger.catchUp: "latest" or "none" on a scheduled trigger; anything else, or on another trigger, is 400 naming it', async () => {
    const created = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('daily-report'), trigger: { type: 'cron', cron: '0 2 * * *', catchUp: 'latest' } } });
    assert.equal(created.status, 201);
    assert.equal(created.body.trigger.catchUp, 'latest');
    const nextRunAt = created.body.trigger.nextRunAt;
    api.clock.advance(60_000);
    // Changing only catchUp keeps the schedule: the same due times, the same next run.
    const patched = await api.call('PATCH', '/workflows/daily-report', { token, body: { trigger: { type: 'cron', cron: '0 2 * * *', catchUp: 'none' } } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.trigger.catchUp, 'none');
    assert.equal(patched.body.trigger.nextRunAt, nextRunAt);
    const renamed = await api.call('PATCH', '/workflows/daily-report', { token, body: { name: 'Daily report' } });
    assert.equal(renamed.body.trigger.catchUp, 'none', 'kept by a change of something else');

    for (const trigger of [
      { type: 'periodic', interval: '1h', catchUp: 'all' },
      { type: 'manual', catchUp: 'latest' },
    ]) {
      const res = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('bad-catch-up'), trigger } });
      assert.equal(res.status, 400, JSON.stringify(trigger));
      assert.deepEqual(paths(res), ['trigger.catchUp']);
    }
    assert.equal((await api.call('GET', '/workflows/bad-catch-up', { token })).status, 404, 'nothing created');
  });

  test('POST: a duplicate workflowId is 409', async () => {
    await api.call('POST', '/workflows', { token, body: manualWorkflow('dup') });
    const res = await api.call('POST', '/workflows', { token, body: manualWorkflow('dup', { name: 'other' }) });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'workflow_exists');
  });

  test('POST: a cron workflow gets its next run; a bad expression is 400 naming trigger.cron', async () => {
    const ok = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('nightly'), trigger: { type: 'cron', cron: '0 3 * * *' } } });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.trigger.nextRunAt, '2026-03-02T03:00:00.000Z');
    const bad = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('bad-cron'), trigger: { type: 'cron', cron: 'every day' } } });
    assert.equal(bad.status, 400);
    assert.deepEqual(paths(bad), ['trigger.cron']);
    assert.equal((await api.call('GET', '/workflows/bad-cron', { token })).status, 404);
  });

  test('POST: 400 names each bad field', async () => {
    const res = await api.call('POST', '/workflows', {
      token,
      body: {
        workflowId: 'has spaces',
        trigger: { type: 'periodic', interval: '10 seconds' },
        actions: [{ type: 'http-request', url: 'ftp://x', method: 'GET' }, { type: 'log' }],
        retryPolicy: { maxRetries: 100 },
      },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'validation_failed');
    assert.deepEqual(paths(res).sort(), ['actions.0.url', 'actions.1.message', 'retryPolicy.maxRetries', 'trigger.interval', 'workflowId']);
  });

  test('POST: filters and step settings are kept as given; a condition that is not JSONLogic, or too large, is 400 naming it', async () => {
    const actions = [
      { type: 'filter', when: { '>=': [{ var: 'trigger.payload.amount' }, 100] } },
      { type: 'delay', duration: '15m' },
      { type: 'delay', until: '{{trigger.payload.sendAt}}' },
      { type: 'http-request', url: 'https://api.example.com/x', method: 'POST', timeoutMs: 500, retry: { maxRetries: 1, baseDelayMs: 100, maxDelayMs: 100 }, continueOnError: true, if: { '!!': [{ var: 'trigger.payload.vip' }] }, idempotencyKey: false },
    ];
    const ok = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('conditions'), actions } });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.actions, actions);
    const bad = await api.call('POST', '/workflows', {
      token,
      body: {
        ...manualWorkflow('bad-conditions'),
        actions: [
          { type: 'filter', when: { eval: ['1'] } },
          { type: 'log', message: 'x', if: { var: 'constructor.name' } },
          { type: 'log', message: 'x', if: { in: ['a', 'x'.repeat(5_000)] } },
          { type: 'filter' },
          { type: 'http-request', url: 'https://api.example.com/x', method: 'GET', idempotencyKey: true },
          { type: 'delay', duration: '15 minutes' },
          { type: 'delay', until: 'next tuesday' },
          { type: 'delay', duration: '366d' },
        ],
      },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(paths(bad).sort(), ['actions.0.when', 'actions.1.if', 'actions.2.if', 'actions.3.when', 'actions.4.idempotencyKey', 'actions.5.duration', 'actions.6.until', 'actions.7.duration']);
    const neither = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('bad-delay'), actions: [{ type: 'delay' }, { type: 'delay', duration: '1m', until: '2026-01-01T00:00:00Z' }] } });
    assert.equal(neither.status, 400);
    assert.deepEqual(paths(neither), ['actions.0', 'actions.1']);
  });

  test('POST: unknown fields are rejected, at the top and nested', async () => {
    const top = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('x1'), ownerId: 'someone-else' } });
    assert.equal(top.status, 400);
    assert.deepEqual(paths(top), ['ownerId']);
    const nested = await api.call('POST', '/workflows', { token, body: { ...manualWorkflow('x2'), trigger: { type: 'manual', status: 'busy' } } });
    assert.equal(nested.status, 400);
    assert.deepEqual(paths(nested), ['trigger.status']);
  });

  test('webhook workflows: hook URL from PUBLIC_BASE_URL, secret only in the creating answer', async () => {
    const res = await api.call('POST', '/workflows', { token, body: webhookWorkflow('hooked') });
    assert.equal(res.status, 201);
    const { hookId, url, secret } = res.body.hook;
    assert.equal(url, `https://hooks.example.com/hooks/${hookId}`);
    assert.ok(typeof secret === 'string' && secret.length >= 40);
    const read = await api.call('GET', '/workflows/hooked', { token });
    assert.deepEqual(read.body.hook, { hookId, url });
    assert.equal(read.text.includes(secret), false);
  });

  test('GET list: paginated by workflowId with an opaque cursor', async () => {
    const { token: own } = await api.user();
    for (const id of ['c', 'a', 'e', 'b', 'd']) await api.call('POST', '/workflows', { token: own, body: manualWorkflow(id) });
    const first = await api.call('GET', '/workflows?limit=2', { token: own });
    assert.deepEqual(first.body.items.map((w: { workflowId: string }) => w.workflowId), ['a', 'b']);
    const second = await api.call('GET', `/workflows?limit=2&cursor=${first.body.nextCursor}`, { token: own });
    assert.deepEqual(second.body.items.map((w: { workflowId: string }) => w.workflowId), ['c', 'd']);
    const last = await api.call('GET', `/workflows?limit=2&cursor=${second.body.nextCursor}`, { token: own });
    assert.deepEqual(last.body.items.map((w: { workflowId: string }) => w.workflowId), ['e']);
    assert.equal('nextCursor' in last.body, false);
    const all = await api.call('GET', '/workflows', { token: own });
    assert.equal(all.body.items.length, 5);
  });

  test('GET list: bad limit, bad cursor, unknown query parameter → 400 naming it', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['cursor=%%%', 'cursor'],
      ['cursor=not-ours!', 'cursor'],
    ] as const) {
      const res = await api.call('GET', `/workflows?${query}`, { token });
      assert.equal(res.status, 400, query);
      assert.deepEqual(paths(res), [field], query);
    }
    const unknown = await api.call('GET', '/workflows?sort=desc', { token });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.body.error.details), /sort/);
  });

  test('a workflowId in the path that fails the schema is 400 naming workflowId, on every route', async () => {
    const bad = encodeURIComponent('bad id!');
    for (const [method, path] of [
      ['GET', `/workflows/${bad}`],
      ['PUT', `/workflows/${bad}`],
      ['PATCH', `/workflows/${bad}`],
      ['DELETE', `/workflows/${bad}`],
      ['POST', `/workflows/${bad}/trigger`],
      ['POST', `/workflows/${bad}/hook/rotate`],
      ['GET', `/workflows/${bad}/executions`],
      ['GET', `/workflows/${'x'.repeat(65)}`],
    ] as const) {
      const res = await api.call(method, path, { token, ...(method === 'PUT' || method === 'PATCH' ? { body: { name: 'n' } } : {}) });
      assert.equal(res.status, 400, `${method} ${path}`);
      assert.deepEqual(paths(res), ['workflowId'], `${method} ${path}`);
    }
  });

  test('GET/PUT/PATCH/DELETE of a missing workflow: 404', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', manualWorkflow('missing')],
      ['PATCH', { name: 'n' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await api.call(method, '/workflows/missing', { token, ...(body ? { body } : {}) });
      assert.equal(res.status, 404, method);
      assert.equal(res.body.error.code, 'not_found');
    }
  });
});

describe('updating workflows', () => {
  let api: TestApi;
  let token: string;
  startApiForSuite((suite) => ({ api, token } = suite));

  const create = async (body: object) => {
    const res = await api.call('POST', '/workflows', { token, body });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };

  test('PUT replaces the definition, bumps the version, keeps status and (unchanged trigger) next run', async () => {
    const created = await create({ ...SEED_WORKFLOW, workflowId: 'put-1', name: 'first', retryPolicy: { maxRetries: 1 } });
    api.clock.advance(5_000);
    const res = await api.call('PUT', '/workflows/put-1', {
      token,
      body: { trigger: { type: 'periodic', interval: '10s' }, actions: [{ type: 'log', message: 'replaced' }] },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), '"2"');
    assert.equal(res.body.version, 2);
    assert.equal(res.body.name, 'put-1', 'omitted name falls back to the workflowId');
    assert.deepEqual(res.body.retryPolicy, { maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 60000 }, 'omitted retryPolicy falls back to the default');
    assert.deepEqual(res.body.actions, [{ type: 'log', message: 'replaced' }]);
    assert.equal(res.body.trigger.nextRunAt, created.trigger.nextRunAt);
    assert.equal(res.body.createdAt, created.createdAt);
    assert.equal(res.body.updatedAt, api.clock.now().toISOString());
  });

  test('PUT with a changed trigger recomputes the next run from now', async () => {
    await create({ ...SEED_WORKFLOW, workflowId: 'put-2' });
    api.clock.advance(7_000);
    const res = await api.call('PUT', '/workflows/put-2', { token, body: { ...SEED_WORKFLOW, workflowId: 'put-2', trigger: { type: 'periodic', interval: '1m' } } });
    assert.equal(res.status, 200);
    assert.equal(res.body.trigger.nextRunAt, new Date(api.clock.now().getTime() + 60_000).toISOString());
  });

  test('PUT with a different workflowId in the body is 400 naming workflowId, and changes nothing', async () => {
    await create(manualWorkflow('put-3'));
    const res = await api.call('PUT', '/workflows/put-3', { token, body: manualWorkflow('renamed') });
    assert.equal(res.status, 400);
    assert.deepEqual(paths(res), ['workflowId']);
    assert.equal((await api.call('GET', '/workflows/put-3', { token })).body.version, 1);
  });

  test('PUT needs the whole definition: missing fields are 400', async () => {
    await create(manualWorkflow('put-4'));
    const res = await api.call('PUT', '/workflows/put-4', { token, body: { name: 'only a name' } });
    assert.equal(res.status, 400);
    assert.deepEqual(paths(res).sort(), ['actions', 'trigger']);
  });

  test('PATCH merges: only the given fields change', async () => {
    const created = await create({ ...manualWorkflow('patch-1'), name: 'keep me' });
    const res = await api.call('PATCH', '/workflows/patch-1', { token, body: { enabled: false } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { ...created, enabled: false, version: 2, updatedAt: res.body.updatedAt });
    const empty = await api.call('PATCH', '/workflows/patch-1', { token, body: {} });
    assert.equal(empty.status, 400);
  });

  test('If-Match: the current version passes, a stale one is 409 version_conflict and changes nothing', async () => {
    await create(manualWorkflow('etag-1'));
    const ok = await api.call('PATCH', '/workflows/etag-1', { token, body: { name: 'v2' }, headers: { 'if-match': '"1"' } });
    assert.equal(ok.status, 200);
    const stale = await api.call('PATCH', '/workflows/etag-1', { token, body: { name: 'lost update' }, headers: { 'if-match': '1' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.error.code, 'version_conflict');
    assert.deepEqual(stale.body.error.details, { currentVersion: 2 });
    const staleDelete = await api.call('DELETE', '/workflows/etag-1', { token, headers: { 'if-match': '"1"' } });
    assert.equal(staleDelete.status, 409);
    const read = await api.call('GET', '/workflows/etag-1', { token });
    assert.equal(read.body.name, 'v2');
    const junk = await api.call('PUT', '/workflows/etag-1', { token, body: manualWorkflow('etag-1'), headers: { 'if-match': 'yesterday' } });
    assert.equal(junk.status, 400);
    assert.deepEqual(paths(junk), ['If-Match']);
  });

  test('the hook follows the trigger: kept while a webhook, made when it becomes one, dropped after', async () => {
    const created = await create(webhookWorkflow('hook-life'));
    const renamed = await api.call('PATCH', '/workflows/hook-life', { token, body: { name: 'renamed' } });
    assert.deepEqual(renamed.body.hook, { hookId: created.hook.hookId, url: created.hook.url }, 'kept, and no secret shown again');

    const manual = await api.call('PATCH', '/workflows/hook-life', { token, body: { trigger: { type: 'manual' } } });
    assert.equal('hook' in manual.body, false);
    const oldHook = await api.call('POST', `/hooks/${created.hook.hookId}`, { headers: { 'x-hook-secret': created.hook.secret } });
    assert.equal(oldHook.status, 404, 'the dropped hook no longer answers');

    const again = await api.call('PUT', '/workflows/hook-life', { token, body: webhookWorkflow('hook-life') });
    assert.notEqual(again.body.hook.hookId, created.hook.hookId);
    assert.ok(again.body.hook.secret, 'a new hook shows its secret once');
    const fired = await api.call('POST', `/hooks/${again.body.hook.hookId}`, { headers: { 'x-hook-secret': again.body.hook.secret } });
    assert.equal(fired.status, 202);
  });

  test('DELETE: 204, then gone', async () => {
    await create(manualWorkflow('gone'));
    const res = await api.call('DELETE', '/workflows/gone', { token });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.equal((await api.call('GET', '/workflows/gone', { token })).status, 404);
    assert.equal((await api.call('DELETE', '/workflows/gone', { token })).status, 404);
  });

  test('rotate on a workflow without a webhook is 409 not_a_webhook', async () => {
    await create(manualWorkflow('no-hook'));
    const res = await api.call('POST', '/workflows/no-hook/hook/rotate', { token });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'not_a_webhook');
  });
});
