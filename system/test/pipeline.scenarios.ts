import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FlakyServer } from '@wf/shared/testing';
import { eventually, type ExecutionView } from './support/api-client.js';
import { startSystemForSuite, type TestSystem } from './support/system-under-test.js';

const FAST_RETRIES = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 400 };
const FINISHED: ExecutionView['status'][] = ['completed', 'failed'];

/**
 * The flows of DESIGN.md driven only through the REST API, against whichever bus `brokers`
 * selects. Shared by the in-process run and the real-Kafka run.
 */
export function pipelineScenarios(brokers?: string[]): void {
  let sut: TestSystem;
  let flaky: FlakyServer;
  startSystemForSuite(() => (brokers ? { brokers } : {}), (started) => ({ sut, server: flaky } = started));

  it('runs a 1 s periodic workflow repeatedly, once per due time', async () => {
    await sut.api.createWorkflow({
      workflowId: 'every-second',
      trigger: { type: 'periodic', interval: '1s' },
      actions: [{ type: 'log', message: 'tick {{execution.id}}' }],
    });
    const runs = await eventually(async () => {
      const items = await sut.api.executions('every-second');
      return items.filter((e) => e.status === 'completed').length >= 3 ? items : undefined;
    }, 20_000, 'three completed periodic runs');
    const dueTimes = runs.map((e) => e.trigger.scheduledFor);
    assert.ok(dueTimes.every(Boolean), 'every periodic run records its due time');
    assert.equal(new Set(dueTimes).size, dueTimes.length, 'no due time emitted twice');
    await sut.api.request('DELETE', '/workflows/every-second');
  });

  it('retries a failing http-request with backoff and completes on attempt 3 without re-running earlier steps', async () => {
    const first = flaky.script('/flaky/first', 0);
    const url = flaky.script('/flaky/target', 2);
    await sut.api.createWorkflow({
      workflowId: 'flaky',
      trigger: { type: 'manual' },
      retryPolicy: FAST_RETRIES,
      actions: [
        { type: 'http-request', url: first, method: 'POST', body: { order: '{{trigger.payload.order}}' } },
        { type: 'http-request', url, method: 'POST', body: { firstStatus: '{{steps.0.output.status}}' } },
      ],
    });
    const triggered = await sut.api.trigger('flaky', { order: 42 });
    assert.equal(triggered.status, 202);
    const executionId = triggered.body.executionId!;

    const seen = new Set<string>();
    const done = await eventually(async () => {
      const e = await sut.api.execution(executionId);
      const wf = await sut.api.workflow('flaky');
      seen.add(`${e.status}/${wf.trigger.status}`);
      return e.status === 'completed' || e.status === 'failed' ? e : undefined;
    }, 20_000, 'the flaky execution to finish', 20);

    assert.equal(done.status, 'completed');
    assert.equal(done.attempt, 3);
    assert.equal(done.retriesLeft, 0);
    assert.deepEqual(done.steps.map((s) => s.status), ['succeeded', 'succeeded']);
    assert.equal(flaky.hits.get('/flaky/first'), 1, 'the step that succeeded ran once');
    assert.equal(flaky.hits.get('/flaky/target'), 3);
    assert.deepEqual(flaky.bodies.get('/flaky/first')?.[0], { order: 42 }, 'the trigger payload reached the action with its type');
    assert.deepEqual(flaky.bodies.get('/flaky/target')?.[2], { firstStatus: 200 });
    const keys = (path: string) => (flaky.headers.get(path) ?? []).map((h) => h['idempotency-key']);
    assert.deepEqual(keys('/flaky/target'), Array(3).fill(`${executionId}.step-1`), 'the re-run step sent the same Idempotency-Key each time');
    assert.deepEqual(keys('/flaky/first'), [`${executionId}.step-0`]);
    assert.ok(seen.has('pending_retry/pending'), `a waiting retry shows the workflow pending (saw ${[...seen].join(', ')})`);
    assert.equal((await sut.api.workflow('flaky')).trigger.status, 'idle');
  });

  it('ends a run at a filter whose condition is false: completed, the rest skipped and not run; a step whose if is false is skipped alone', async () => {
    const url = flaky.script('/filtered/after', 0);
    const vip = flaky.script('/filtered/vip', 0);
    await sut.api.createWorkflow({
      workflowId: 'filtered',
      trigger: { type: 'manual' },
      actions: [
        { type: 'http-request', url: vip, method: 'POST', if: { '==': [{ var: 'trigger.payload.vip' }, true] } },
        { type: 'filter', when: { '>=': [{ var: 'trigger.payload.amount' }, 100] } },
        { type: 'http-request', url, method: 'POST' },
      ],
    });
    const finished = async (payload: unknown) => sut.api.untilStatus(await sut.api.triggered('filtered', payload), FINISHED, 'the filtered run to finish');
    const small = await finished({ amount: 20, vip: false });
    assert.equal(small.status, 'completed');
    assert.deepEqual(small.steps.map((s) => s.status), ['skipped', 'succeeded', 'skipped']);
    assert.deepEqual(small.steps[1]?.output, { passed: false });
    assert.equal(flaky.hits.get('/filtered/after'), undefined, 'no step after the filter ran');
    assert.equal(flaky.hits.get('/filtered/vip'), undefined, 'the step whose if was false did not run');
    const big = await finished({ amount: 150, vip: true });
    assert.deepEqual(big.steps.map((s) => s.status), ['succeeded', 'succeeded', 'succeeded']);
    assert.equal(flaky.hits.get('/filtered/after'), 1);
  });

  it('sends a secret where a step uses it, and keeps it out of every output, error, API answer and log', async () => {
    const token = `tok_${Math.random().toString(36).slice(2)}_secret`;
    assert.equal((await sut.api.request('PUT', '/secrets/api_token', { value: token })).status, 201);
    await sut.api.createWorkflow({
      workflowId: 'uses-secret',
      trigger: { type: 'manual' },
      retryPolicy: { maxRetries: 0, baseDelayMs: 100, maxDelayMs: 100 },
      actions: [
        { type: 'http-request', url: `${flaky.url}/echo/secret`, method: 'POST', headers: { 'x-token': '{{secrets.api_token}}' }, body: { key: '{{secrets.api_token}}' } },
        { type: 'log', level: 'warn', message: 'the token is {{secrets.api_token}}' },
        { type: 'http-request', url: flaky.script('/secret/fails', Infinity), method: 'POST', headers: { 'x-token': 'Bearer {{secrets.api_token}}' } },
      ],
    });
    const done = await sut.api.untilStatus(await sut.api.triggered('uses-secret'), FINISHED, 'the run to finish');
    assert.equal(done.status, 'failed');
    assert.equal(flaky.headers.get('/echo/secret')?.[0]?.['x-token'], token, 'the receiver got the value');
    assert.equal(flaky.headers.get('/secret/fails')?.[0]?.['x-token'], `Bearer ${token}`);
    const answers = [
      JSON.stringify(done),
      JSON.stringify(await sut.api.executions('uses-secret')),
      JSON.stringify(await sut.api.workflow('uses-secret')),
      JSON.stringify((await sut.api.request('GET', '/secrets')).body),
    ];
    for (const text of answers) assert.ok(!text.includes(token), `the value leaked: ${text}`);
    assert.match(JSON.stringify(done.steps[0]?.output), /\[secret:api_token\]/, 'the echoed value is concealed');
    assert.equal((done.steps[1]?.output as { message: string }).message, 'the token is [secret:api_token]');
    assert.ok(sut.logs.some((l) => l.includes('the token is [secret:api_token]')), 'the log action logged');
    assert.ok(!sut.logs.join('').includes(token), 'no log line holds the value');
  });

  it('parks a run at a delay (waiting, its workflow busy) and resumes it when due, at the next step', async () => {
    const url = flaky.script('/delayed/after', 0);
    await sut.api.createWorkflow({
      workflowId: 'delayed',
      trigger: { type: 'manual' },
      actions: [{ type: 'log', message: 'before' }, { type: 'delay', duration: '1s' }, { type: 'http-request', url, method: 'POST' }],
    });
    const id = await sut.api.triggered('delayed');
    const waiting = await sut.api.untilStatus(id, ['waiting'], 'the run to wait');
    assert.deepEqual(waiting.steps.map((s) => s.status), ['succeeded', 'pending', 'pending']);
    assert.equal((await sut.api.trigger('delayed')).status, 409, 'a waiting run keeps its workflow busy');
    const done = await sut.api.untilStatus(id, FINISHED, 'the run to resume');
    assert.equal(done.status, 'completed');
    assert.equal(done.attempt, 1);
    assert.ok(Date.parse(done.steps[2]!.startedAt!) >= Date.parse((waiting.steps[1]?.output as { resumeAt: string }).resumeAt));
    assert.equal(flaky.hits.get('/delayed/after'), 1);
  });

  it('refuses a second trigger while the first is pending a retry (409 with the status), without burning a retry', async () => {
    const url = flaky.script('/always-fails', Infinity);
    await sut.api.createWorkflow({
      workflowId: 'doomed',
      trigger: { type: 'manual' },
      retryPolicy: { maxRetries: 2, baseDelayMs: 300, maxDelayMs: 600 },
      actions: [{ type: 'http-request', url, method: 'GET' }],
    });
    const executionId = await sut.api.triggered('doomed');

    await eventually(async () => (await sut.api.workflow('doomed')).trigger.status === 'pending', 10_000, 'status pending');
    const refused = await sut.api.trigger('doomed');
    assert.equal(refused.status, 409);
    assert.ok(['busy', 'pending'].includes(refused.body.error?.details?.triggerStatus ?? ''), JSON.stringify(refused.body));

    const done = await sut.api.untilStatus(executionId, ['failed'], 'the doomed execution to fail');
    assert.equal(done.attempt, 3, 'one first attempt plus maxRetries retries');
    assert.equal(done.retriesLeft, 0);
    assert.match(done.error ?? '', /HTTP 500/);
    assert.equal(flaky.hits.get('/always-fails'), 3);
    assert.equal((await sut.api.workflow('doomed')).trigger.status, 'idle');
    assert.equal((await sut.api.executions('doomed')).length, 1, 'the refused trigger created nothing');
  });
}
