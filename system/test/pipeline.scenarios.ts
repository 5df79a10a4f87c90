import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { eventually, type ExecutionView } from './support/api-client.js';
import { FlakyServer } from '@wf/shared/testing';
import { startTestSystem, type TestSystem } from './support/system-under-test.js';

const FAST_RETRIES = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 400 };

/**
 * The flows of DESIGN.md driven only through the REST API, against whichever bus `brokers`
 * selects. Shared by the in-process run and the real-Kafka run.
 */
export function pipelineScenarios(brokers?: string[]): void {
  let sut: TestSystem;
  const flaky = new FlakyServer();

  before(async () => {
    await flaky.start();
    sut = await startTestSystem(brokers ? { brokers } : {});
  });
  after(async () => {
    await sut?.stop();
    await flaky.stop();
  });

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
    assert.ok(seen.has('pending_retry/pending'), `a waiting retry shows the workflow pending (saw ${[...seen].join(', ')})`);
    assert.equal((await sut.api.workflow('flaky')).trigger.status, 'idle');
  });

  it('refuses a second trigger while the first is pending a retry (409 with the status), without burning a retry', async () => {
    const url = flaky.script('/always-fails', Infinity);
    await sut.api.createWorkflow({
      workflowId: 'doomed',
      trigger: { type: 'manual' },
      retryPolicy: { maxRetries: 2, baseDelayMs: 300, maxDelayMs: 600 },
      actions: [{ type: 'http-request', url, method: 'GET' }],
    });
    const triggered = await sut.api.trigger('doomed');
    assert.equal(triggered.status, 202);
    const executionId = triggered.body.executionId!;

    await eventually(async () => (await sut.api.workflow('doomed')).trigger.status === 'pending', 10_000, 'status pending');
    const refused = await sut.api.trigger('doomed');
    assert.equal(refused.status, 409);
    assert.ok(['busy', 'pending'].includes(refused.body.error?.details?.triggerStatus ?? ''), JSON.stringify(refused.body));

    const done: ExecutionView = await eventually(async () => {
      const e = await sut.api.execution(executionId);
      return e.status === 'failed' ? e : undefined;
    }, 20_000, 'the doomed execution to fail');
    assert.equal(done.attempt, 3, 'one first attempt plus maxRetries retries');
    assert.equal(done.retriesLeft, 0);
    assert.match(done.error ?? '', /HTTP 500/);
    assert.equal(flaky.hits.get('/always-fails'), 3);
    assert.equal((await sut.api.workflow('doomed')).trigger.status, 'idle');
    assert.equal((await sut.api.executions('doomed')).length, 1, 'the refused trigger created nothing');
  });
}
