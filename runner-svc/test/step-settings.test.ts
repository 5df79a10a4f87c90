import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, DEFAULT_TOPICS, stepIdempotencyKey, type HttpClient } from '@wf/shared';
import { scriptedHttp, workerSetup } from './support/worker-setup.js';

const A = 'https://api.test/a';
const B = 'https://api.test/b';

describe('Idempotency-Key on http-request steps', () => {
  it('sends the same key for a step on every attempt, another for each step, and keeps a key the action sets', async () => {
    const { http, calls } = scriptedHttp({ [B]: [500, 200] });
    const { execution, handle, retry } = await workerSetup(
      [
        { type: 'http-request', url: A, method: 'POST' },
        { type: 'http-request', url: B, method: 'POST' },
        { type: 'http-request', url: A, method: 'POST', headers: { 'idempotency-key': 'mine-{{trigger.payload.to}}' } },
        { type: 'http-request', url: A, method: 'GET', idempotencyKey: false },
      ],
      http,
    );
    assert.equal(await handle(1), 'pending_retry');
    await retry();
    assert.equal(await handle(2), 'completed');
    const keys = calls.map((c) => c.headers?.['Idempotency-Key'] ?? c.headers?.['idempotency-key']);
    const id = execution.executionId;
    assert.deepEqual(keys, [stepIdempotencyKey(id, 0), stepIdempotencyKey(id, 1), stepIdempotencyKey(id, 1), 'mine-ada', undefined]);
    assert.equal(Object.keys(calls[3]?.headers ?? {}).length, 1, 'no second key beside the one the action sets');
  });
});

describe('per-step settings', () => {
  it('passes a step its own timeoutMs', async () => {
    const { http, calls } = scriptedHttp();
    const { handle } = await workerSetup([{ type: 'http-request', url: A, method: 'GET', timeoutMs: 1_234 }, { type: 'http-request', url: B, method: 'GET' }], http);
    assert.equal(await handle(1), 'completed');
    assert.deepEqual(calls.map((c) => c.timeoutMs), [1_234, 10_000]);
  });

  it('goes on past a failed step with continueOnError: the step is failed, the run completed, and it never runs again', async () => {
    const { http, calls } = scriptedHttp({ [A]: [500], [B]: [500, 200] });
    const { handle, retry, get } = await workerSetup(
      [
        { type: 'http-request', url: A, method: 'GET', continueOnError: true },
        { type: 'log', message: 'first status {{steps.0.status}}' },
        { type: 'http-request', url: B, method: 'GET' },
      ],
      http,
    );
    assert.equal(await handle(1), 'pending_retry');
    assert.deepEqual((await get()).steps.map((s) => s.status), ['failed', 'succeeded', 'failed']);
    await retry();
    assert.equal(await handle(2), 'completed');
    const e = await get();
    assert.deepEqual(e.steps.map((s) => s.status), ['failed', 'succeeded', 'succeeded']);
    assert.deepEqual((e.steps[1]?.output as { message: string }).message, 'first status failed');
    assert.equal(calls.filter((c) => c.url === A).length, 1, 'the failed step that let the run go on is not run again');
    assert.equal(e.error, undefined);
  });

  it('retries a step by its own policy, without spending the run\'s retries, and fails when the step has none left', async () => {
    const { http, calls } = scriptedHttp({ [A]: [500, 500, 500] });
    const { handle, retry, get, clock } = await workerSetup(
      [{ type: 'http-request', url: A, method: 'GET', retry: { maxRetries: 2, baseDelayMs: 50, maxDelayMs: 100 } }],
      http,
      { retryPolicy: { maxRetries: 5, baseDelayMs: 10_000, maxDelayMs: 60_000 } },
    );
    const t0 = clock.now().getTime();
    assert.equal(await handle(1), 'pending_retry');
    let e = await get();
    assert.equal(e.nextAttemptAt!.getTime() - t0, 50, "the step's base delay, not the workflow's");
    assert.equal(e.retriesLeft, 5, "the run's retries are not spent");
    await retry();
    const t1 = clock.now().getTime();
    assert.equal(await handle(2), 'pending_retry');
    e = await get();
    assert.equal(e.nextAttemptAt!.getTime() - t1, 100, 'doubled by the step policy, capped at its maxDelayMs');
    assert.equal(e.steps[0]?.failures, 2);
    await retry();
    assert.equal(await handle(3), 'failed');
    assert.equal(calls.length, 3, 'one try and the two retries of its own policy');
  });
});

describe('conditions', () => {
  it('ends the run completed at a filter whose condition is false, the remaining steps skipped and not run', async () => {
    const { http, calls } = scriptedHttp();
    const { handle, get } = await workerSetup(
      [
        { type: 'http-request', url: A, method: 'GET' },
        { type: 'filter', when: { and: [{ '==': [{ var: 'steps.0.output.status' }, 200] }, { '>': [{ var: 'trigger.payload.amount' }, 100] }] } },
        { type: 'http-request', url: B, method: 'POST' },
        { type: 'log', message: 'after' },
      ],
      http,
      { payload: { amount: 20 } },
    );
    assert.equal(await handle(1), 'completed');
    const e = await get();
    assert.equal(e.status, 'completed');
    assert.deepEqual(e.steps.map((s) => s.status), ['succeeded', 'succeeded', 'skipped', 'skipped']);
    assert.deepEqual(e.steps[1]?.output, { passed: false });
    assert.deepEqual(calls.map((c) => c.url), [A]);
  });

  it('goes on past a filter whose condition holds', async () => {
    const { http, calls } = scriptedHttp();
    const { handle, get } = await workerSetup(
      [{ type: 'filter', when: { '>': [{ var: 'trigger.payload.amount' }, 100] } }, { type: 'http-request', url: B, method: 'POST' }],
      http,
      { payload: { amount: 120 } },
    );
    assert.equal(await handle(1), 'completed');
    assert.deepEqual((await get()).steps.map((s) => s.status), ['succeeded', 'succeeded']);
    assert.equal(calls.length, 1);
  });

  it('skips just the step whose `if` is false', async () => {
    const { http, calls } = scriptedHttp();
    const { handle, get } = await workerSetup(
      [
        { type: 'http-request', url: A, method: 'GET', if: { '==': [{ var: 'trigger.payload.kind' }, 'refund'] } },
        { type: 'http-request', url: B, method: 'GET', if: { '==': [{ var: 'trigger.payload.kind' }, 'order'] } },
        { type: 'log', message: 'a was {{steps.0.status}}' },
      ],
      http,
      { payload: { kind: 'order' } },
    );
    assert.equal(await handle(1), 'completed');
    const e = await get();
    assert.deepEqual(e.steps.map((s) => s.status), ['skipped', 'succeeded', 'succeeded']);
    assert.equal((e.steps[2]?.output as { message: string }).message, 'a was skipped');
    assert.deepEqual(calls.map((c) => c.url), [B]);
  });

  it('fails the run at once on a condition that cannot be evaluated', async () => {
    const { http } = scriptedHttp();
    const { handle, get } = await workerSetup([{ type: 'filter', when: { nope: [1] } }], http);
    assert.equal(await handle(1), 'failed');
    assert.match((await get()).error ?? '', /unknown operator "nope"/);
  });
});

describe('secrets', () => {
  const TOKEN = 'sk_live_abcdef123456';

  it('resolves {{secrets.NAME}} in any field at the moment of use, and conceals it in outputs, errors and logs', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', service: 'test', destination: { write: (l: string) => lines.push(l) } as unknown as NodeJS.WritableStream });
    const echo: HttpClient = {
      async request(req) {
        // A server that echoes what it got: the token comes back in the body.
        return { status: req.url.endsWith('/fail') ? 500 : 200, headers: {}, body: { saw: req.headers?.Authorization, url: req.url }, truncated: false, durationMs: 1 };
      },
    };
    const calls: string[] = [];
    const http: HttpClient = { request: (req) => (calls.push(JSON.stringify(req)), echo.request(req)) };
    const { handle, get } = await workerSetup(
      [
        { type: 'http-request', url: `${A}?k={{secrets.token}}`, method: 'GET', headers: { Authorization: 'Bearer {{secrets.token}}' } },
        { type: 'log', message: 'token is {{secrets.token}}' },
        { type: 'http-request', url: 'https://api.test/fail', method: 'POST', body: { key: '{{secrets.token}}' } },
      ],
      http,
      { secrets: { token: TOKEN }, logger, retryPolicy: { maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10 } },
    );
    assert.equal(await handle(1), 'failed');
    assert.ok(calls[0]?.includes(`Bearer ${TOKEN}`), 'the request carried the value');
    const e = await get();
    const stored = JSON.stringify(e);
    assert.ok(!stored.includes(TOKEN), `no value in the execution: ${stored}`);
    assert.ok(stored.includes('[secret:token]'));
    assert.equal((e.steps[1]?.output as { message: string }).message, 'token is [secret:token]');
    assert.ok(lines.length > 0);
    assert.ok(!lines.join('').includes(TOKEN), 'no value in any log line');
  });

  it('fails the step for good, naming the secret, when it is not set', async () => {
    const { http, calls } = scriptedHttp();
    const { handle, get } = await workerSetup([{ type: 'http-request', url: A, method: 'GET', headers: { 'x-key': '{{secrets.missing}}' } }], http);
    assert.equal(await handle(1), 'failed');
    assert.match((await get()).error ?? '', /secret "missing" is not set/);
    assert.equal(calls.length, 0);
  });

  it('never gives a condition the secrets', async () => {
    const { http } = scriptedHttp();
    const { handle, get } = await workerSetup([{ type: 'filter', when: { '!!': [{ var: 'secrets.token' }] } }, { type: 'log', message: 'x' }], http, { secrets: { token: TOKEN } });
    assert.equal(await handle(1), 'completed');
    assert.deepEqual((await get()).steps.map((s) => s.status), ['succeeded', 'skipped']);
  });
});

describe('durable delay', () => {
  it('parks the run waiting (workflow busy), resumes it on the same attempt when the scheduler requeues it, and runs the rest once', async () => {
    const { http, calls } = scriptedHttp();
    const { handle, get, clock, store } = await workerSetup(
      [{ type: 'http-request', url: A, method: 'POST' }, { type: 'delay', duration: '15m' }, { type: 'http-request', url: B, method: 'POST' }],
      http,
    );
    const t0 = clock.now().getTime();
    assert.equal(await handle(1), 'waiting');
    let e = await get();
    assert.equal(e.status, 'waiting');
    assert.equal(e.nextAttemptAt?.getTime(), t0 + 15 * 60_000);
    assert.deepEqual(e.steps.map((s) => s.status), ['succeeded', 'pending', 'pending']);
    assert.deepEqual(e.steps[1]?.output, { resumeAt: new Date(t0 + 15 * 60_000).toISOString() });
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'busy', 'a waiting run keeps its workflow busy');
    const events = (await store.outbox.claimBatch(0, 100)).messages.filter((m) => m.topic === DEFAULT_TOPICS.result).map((m) => m.event);
    assert.deepEqual(
      events.map((ev) => [ev.type, ev.type === 'ExecutionWaiting' ? [ev.data.status, ev.data.resumeAt] : undefined]),
      [['ExecutionWaiting', ['waiting', new Date(t0 + 15 * 60_000).toISOString()]]],
      'whoever watches the run learns that it waits, and until when',
    );

    clock.advance(60_000);
    assert.deepEqual(await store.uow.run((tx) => tx.executions.resumeDueWaits(10)), [], 'not before its time');
    clock.set(e.nextAttemptAt!);
    const [resumed] = await store.uow.run((tx) => tx.executions.resumeDueWaits(10));
    assert.equal(resumed?.attempt, 1, 'the same attempt');
    assert.equal(await handle(1), 'completed');
    e = await get();
    assert.deepEqual(e.steps.map((s) => s.status), ['succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(calls.map((c) => c.url), [A, B], 'the step before the delay ran once');
    assert.equal(e.retriesLeft, 2, 'waiting spends no retry');
  });

  it('waits until a templated time; one already past does not wait; one that is not a time fails the run', async () => {
    const { http } = scriptedHttp();
    const at = '2026-01-01T06:00:00.000Z';
    const later = await workerSetup([{ type: 'delay', until: '{{trigger.payload.at}}' }, { type: 'log', message: 'x' }], http, { payload: { at } });
    assert.equal(await later.handle(1), 'waiting');
    assert.equal((await later.get()).nextAttemptAt?.toISOString(), at);
    const past = await workerSetup([{ type: 'delay', until: '2020-01-01T00:00:00Z' }, { type: 'log', message: 'x' }], http);
    assert.equal(await past.handle(1), 'completed');
    const bad = await workerSetup([{ type: 'delay', until: '{{trigger.payload.at}}' }], http, { payload: { at: 'tomorrow' } });
    assert.equal(await bad.handle(1), 'failed');
    assert.match((await bad.get()).error ?? '', /until "tomorrow" is not a time/);
  });
});
