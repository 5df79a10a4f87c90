import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Execution } from '@wf/shared';
import { anExecution, startForSuite } from '@wf/shared/testing';
import { manualWorkflow, startApi, startApiForSuite, type TestApi } from '../support/api.js';

/** A run as the runner leaves it, created `agoMs` before the fake clock's now. */
function run(api: TestApi, ownerId: string, workflowId: string, agoMs: number, status: Execution['status'], durationMs = 100): Execution {
  const createdAt = new Date(api.clock.now().getTime() - agoMs);
  const finished = status === 'completed' || status === 'failed';
  return anExecution({
    executionId: `${workflowId}-${agoMs}-${status}`,
    workflowId,
    ownerId,
    status,
    steps: [],
    createdAt,
    startedAt: createdAt,
    ...(finished ? { finishedAt: new Date(createdAt.getTime() + durationMs) } : {}),
  });
}

describe('the dashboard\'s queries: overview stats, outcome strips, runs across workflows', () => {
  let api: TestApi;
  let token: string;
  startApiForSuite(async (suite) => {
    ({ api, token } = suite);
    const { userId } = suite;
    const other = await api.user();
    const runs = [
      run(api, userId, 'alpha', 30_000, 'completed', 100),
      run(api, userId, 'alpha', 90_000, 'failed', 300),
      run(api, userId, 'beta', 100_000, 'pending_retry'),
      run(api, userId, 'beta', 2 * 3_600_000, 'completed', 200), // in the day, not the hour
      run(api, other.userId, 'alpha', 10_000, 'failed'),
    ];
    for (const e of runs) await api.store.executions.insert(e);
  });

  test('GET /stats: the hour by minute and the day by quarter hour, aggregated by the store', async () => {
    const res = await api.call('GET', '/stats', { token });
    assert.equal(res.status, 200, res.text);
    const { hour, day, waitingForRetry } = res.body;
    assert.equal(waitingForRetry, 1);
    assert.equal(hour.bucketMs, 60_000);
    assert.equal(day.bucketMs, 900_000);
    assert.equal(new Date(hour.to).getTime() - new Date(hour.from).getTime(), 3_600_000);
    assert.ok(new Date(hour.to).getTime() > api.clock.now().getTime(), 'the last bucket holds now');
    assert.deepEqual(hour.totals, { queued: 0, running: 0, waiting: 0, pending_retry: 1, completed: 1, failed: 1, cancelled: 0 });
    assert.equal(hour.failureRate, 0.5);
    assert.deepEqual(hour.durationMs, { p50: 100, p95: 300 });
    assert.deepEqual(hour.busiest, [
      { workflowId: 'alpha', runs: 2 },
      { workflowId: 'beta', runs: 1 },
    ]);
    assert.deepEqual(hour.mostFailing, [{ workflowId: 'alpha', failed: 1, runs: 2 }]);
    assert.equal(hour.buckets.reduce((n: number, b: { counts: Record<string, number> }) => n + Object.values(b.counts).reduce((x, y) => x + y, 0), 0), 3);
    assert.equal(day.totals.completed, 2);
    assert.equal((await api.call('GET', '/stats?window=week', { token })).status, 400);
  });

  test('GET /recent-runs: the newest runs of each workflow named, others\' never', async () => {
    const res = await api.call('GET', '/recent-runs?workflowIds=alpha,beta,nothing', { token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.items.alpha.map((r: { status: string }) => r.status), ['completed', 'failed']);
    assert.deepEqual(res.body.items.beta.map((r: { status: string }) => r.status), ['pending_retry', 'completed']);
    assert.deepEqual(res.body.items.nothing, []);
    for (const bad of ['', '?workflowIds=', '?workflowIds=a,bad%20id', `?workflowIds=${Array.from({ length: 101 }, (_, i) => `w${i}`).join(',')}`]) {
      const refused = await api.call('GET', `/recent-runs${bad}`, { token });
      assert.equal(refused.status, 400, bad);
      assert.equal(refused.body.error.code, 'validation_failed');
    }
  });

  test('GET /executions: across workflows, newest first, by status, workflow and time, paginated', async () => {
    const all = await api.call('GET', '/executions', { token });
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.body.items.map((e: { executionId: string }) => e.executionId), ['alpha-30000-completed', 'alpha-90000-failed', 'beta-100000-pending_retry', 'beta-7200000-completed']);
    assert.equal('steps' in all.body.items[0], false, 'summaries');

    const failing = await api.call('GET', '/executions?status=failed,pending_retry', { token });
    assert.deepEqual(failing.body.items.map((e: { executionId: string }) => e.executionId), ['alpha-90000-failed', 'beta-100000-pending_retry']);
    const since = new Date(api.clock.now().getTime() - 95_000).toISOString();
    const recent = await api.call('GET', `/executions?workflowId=alpha&from=${encodeURIComponent(since)}`, { token });
    assert.deepEqual(recent.body.items.map((e: { executionId: string }) => e.executionId), ['alpha-30000-completed', 'alpha-90000-failed']);
    const page = await api.call('GET', '/executions?limit=3', { token });
    const rest = await api.call('GET', `/executions?limit=3&cursor=${page.body.nextCursor}`, { token });
    assert.equal(rest.body.items.length, 1);

    for (const bad of ['status=done', 'from=yesterday', 'to=2026-13-01T00:00:00Z', 'limit=0', 'sort=asc', 'cursor=bm90LWEtY3Vyc29y']) {
      const refused = await api.call('GET', `/executions?${bad}`, { token });
      assert.equal(refused.status, 400, bad);
    }
  });
});

describe('GET /workflows?prefix=: the workflows table\'s search', () => {
  let api: TestApi;
  let token: string;
  startApiForSuite(async (suite) => {
    ({ api, token } = suite);
    for (const id of ['report-daily', 'report-weekly', 'reminder', 'sync']) {
      assert.equal((await api.call('POST', '/workflows', { token, body: manualWorkflow(id) })).status, 201);
    }
  });

  test('lists the ids that start with the prefix, paginated', async () => {
    const first = await api.call('GET', '/workflows?prefix=re&limit=2', { token });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body.items.map((w: { workflowId: string }) => w.workflowId), ['reminder', 'report-daily']);
    const rest = await api.call('GET', `/workflows?prefix=re&limit=2&cursor=${first.body.nextCursor}`, { token });
    assert.deepEqual(rest.body.items.map((w: { workflowId: string }) => w.workflowId), ['report-weekly']);
    assert.deepEqual((await api.call('GET', '/workflows?prefix=zzz', { token })).body.items, []);
    for (const bad of ['prefix=', 'prefix=a%20b', `prefix=${'a'.repeat(65)}`]) assert.equal((await api.call('GET', `/workflows?${bad}`, { token })).status, 400, bad);
  });
});

describe('the dashboard\'s static files', () => {
  let api: TestApi;
  startForSuite(
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'wf-web-'));
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dashboard</title><script type="module" src="/assets/index-abc123.js"></script>');
      writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
      writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
      return startApi({ env: { WEB_ROOT: dir }, uncheckedContract: true }); // pages, not API answers
    },
    (started) => (api = started),
  );

  const html = { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } };

  test('pages: index.html for the root and any client route, revalidated, under a strict CSP', async () => {
    for (const path of ['/', '/flows/abc', '/runs/123?x=1', '/workflows/abc']) {
      const res = await api.call('GET', path, html);
      assert.equal(res.status, 200, path);
      assert.match(res.text, /<title>dashboard<\/title>/);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
    }
  });

  test('hashed assets are cached for a year; other files are revalidated', async () => {
    const asset = await api.call('GET', '/assets/index-abc123.js');
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await api.call('GET', '/favicon.svg')).headers.get('cache-control'), 'no-cache');
    assert.equal((await api.call('GET', '/assets/missing.js', html)).status, 404, 'a missing asset is not the page');
  });

  test('the API is where it was: JSON clients and non-GET requests never get the page', async () => {
    const list = await api.call('GET', '/workflows');
    assert.equal(list.status, 401);
    assert.equal(list.body.error.code, 'unauthorized');
    assert.equal((await api.call('GET', '/workflows', { headers: { accept: 'application/json' } })).status, 401);
    assert.equal((await api.call('POST', '/flows', html)).status, 401);
    assert.equal((await api.call('GET', '/healthz', html)).body.status, 'ok');
  });
});
