import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import {
  acceptRun,
  DEFAULT_TOPICS,
  GroupCommit,
  makeEvent,
  MAX_EVENT_ERROR_BYTES,
  OutboundRequestRefusedError,
  silentLogger,
  WorkflowBusyError,
  type Action,
  type AttemptEnding,
  type ExecutionRequested,
  type HttpClient,
  type HttpRequest,
  type Store,
} from '@wf/shared';
import { FakeClock } from '@wf/shared/testing';
import { createActions, ExecutionWorker } from '../src/index.js';
import { refusingStore, type Refusal } from './support/refusing-store.js';
import { scriptedHttp, workerSetup } from './support/worker-setup.js';

const requested = (executionId: string, attempt: number): ExecutionRequested =>
  makeEvent('ExecutionRequested', { executionId, workflowId: 'w', ownerId: 'o', attempt }, `ev-${attempt}`, new Date());

const LOG: Action = { type: 'log', message: 'hello' };

/** `workerSetup` with a retry policy of `maxRetries` and, when given, a store that refuses some writes. */
const setup = (actions: Action[], http: HttpClient, maxRetries = 2, refusal?: Refusal) =>
  workerSetup(actions, http, {
    retryPolicy: { maxRetries, baseDelayMs: 1_000, maxDelayMs: 8_000 },
    ...(refusal ? { wrapStore: (memory: Store) => refusingStore(memory, refusal) } : {}),
  });

const results = async (store: Store) =>
  (await store.outbox.claimBatch(0, 100)).messages.filter((m) => m.topic === DEFAULT_TOPICS.result).map((m) => m.event);

describe('ExecutionWorker on the memory store', () => {
  it('retries with exponential backoff, resumes at the failed step, and completes on attempt 3', async () => {
    const { http, calls } = scriptedHttp({ 'https://api.test/b': [500, 503, 200] });
    const { store, clock, worker, execution, retry } = await setup(
      [
        { type: 'http-request', url: 'https://api.test/a', method: 'POST', body: { to: '{{trigger.payload.to}}' } },
        { type: 'http-request', url: 'https://api.test/b', method: 'GET' },
      ],
      http,
    );
    const start = clock.now().getTime();
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'pending_retry');
    let e = await store.executions.get(execution.executionId);
    assert.equal(e?.nextAttemptAt?.getTime(), start + 1_000, 'first retry after the base delay');
    assert.equal(e?.retriesLeft, 1);
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'pending');

    assert.equal(await retry(), 2);
    const second = clock.now().getTime();
    assert.equal(await worker.handle(requested(execution.executionId, 2)), 'pending_retry');
    e = await store.executions.get(execution.executionId);
    assert.equal(e?.nextAttemptAt?.getTime(), second + 2_000, 'the delay doubles');

    assert.equal(await retry(), 3);
    assert.equal(await worker.handle(requested(execution.executionId, 3)), 'completed');
    e = await store.executions.get(execution.executionId);
    assert.equal(e?.status, 'completed');
    assert.deepEqual(e?.steps.map((s) => [s.status, s.attempt]), [['succeeded', 1], ['succeeded', 3]]);
    assert.equal(calls.filter((c) => c.url === 'https://api.test/a').length, 1, 'the step that succeeded never re-ran');
    assert.deepEqual(calls[0]?.body, { to: 'ada' });
    assert.equal((e?.steps[0]?.output as { headers: Record<string, string> }).headers['set-cookie'], '[redacted]');
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'idle');
    assert.deepEqual((await results(store)).map((ev) => [ev.type, (ev.data as { status: string }).status]), [
      ['ExecutionRetryScheduled', 'pending_retry'],
      ['ExecutionRetryScheduled', 'pending_retry'],
      ['ExecutionCompleted', 'completed'],
    ]);
  });

  it('fails for good when no retries are left, and frees the workflow', async () => {
    const { http } = scriptedHttp({ 'https://api.test/x': [500, 500] });
    const { store, worker, execution, retry } = await setup([{ type: 'http-request', url: 'https://api.test/x', method: 'GET' }], http, 1);
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'pending_retry');
    const nextAttemptAt = (await store.executions.get(execution.executionId))?.nextAttemptAt;
    await retry();
    assert.equal(await worker.handle(requested(execution.executionId, 2)), 'failed');
    const [retryScheduled, failed] = await results(store);
    assert.equal(retryScheduled?.type, 'ExecutionRetryScheduled');
    assert.equal(retryScheduled.data.nextAttemptAt, nextAttemptAt?.toISOString(), 'says when the next attempt runs');
    assert.equal(failed?.type, 'ExecutionFailed');
    assert.equal(failed.data.status, 'failed');
    const e = await store.executions.get(execution.executionId);
    assert.equal(e?.status, 'failed');
    assert.match(e?.error ?? '', /step 0 \(http-request\) failed: HTTP 500/);
    assert.ok(e?.finishedAt);
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'idle');
  });

  it('announces a long error cut to MAX_EVENT_ERROR_BYTES, so the result event stays within what a broker accepts', async () => {
    const huge = new Error(`connection reset ${'x'.repeat(200_000)}`);
    const { http } = scriptedHttp({ 'https://api.test/x': [huge] });
    const { store, worker, execution } = await setup([{ type: 'http-request', url: 'https://api.test/x', method: 'GET' }], http, 0);
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'failed');
    const [failed] = await results(store);
    assert.equal(failed?.type, 'ExecutionFailed');
    const error = failed.data.error ?? '';
    assert.ok(Buffer.byteLength(error, 'utf8') <= MAX_EVENT_ERROR_BYTES, `the event's error is ${Buffer.byteLength(error, 'utf8')} bytes`);
    assert.match(error, /^step 0 \(http-request\) failed: connection reset x+… \(truncated\)$/);
  });

  it('does not retry a refused destination', async () => {
    const { http } = scriptedHttp({ 'https://api.test/x': [new OutboundRequestRefusedError('refused to connect to x: 10.0.0.1 is a private address')] });
    const { store, worker, execution } = await setup([{ type: 'http-request', url: 'https://api.test/x', method: 'GET' }], http, 3);
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'failed');
    const e = await store.executions.get(execution.executionId);
    assert.equal(e?.retriesLeft, 3, 'no retry was spent');
    assert.match(e?.error ?? '', /private address/);
  });

  it('runs a request delivered twice at once only once: the second delivery finds the run claimed and skips it', async () => {
    let started = () => {};
    const requestStarted = new Promise<void>((resolve) => (started = resolve));
    let release = () => {};
    const calls: HttpRequest[] = [];
    const http: HttpClient = {
      async request(req) {
        calls.push(req);
        started();
        await new Promise<void>((resolve) => (release = resolve));
        return { status: 200, headers: {}, body: {}, truncated: false, durationMs: 1 };
      },
    };
    const { worker, execution } = await setup([{ type: 'http-request', url: 'https://api.test/once', method: 'GET' }], http);
    const first = worker.handle(requested(execution.executionId, 1));
    await requestStarted;
    // The same request again while the first delivery is mid-step, e.g. re-published by the scheduler.
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'skipped');
    release();
    assert.equal(await first, 'completed');
    assert.equal(calls.length, 1);
  });

  it('gives its claim back when handling throws, so that the redelivery resumes the run at once', async () => {
    let refusals = 1;
    const { store, worker, execution } = await setup([LOG], scriptedHttp({}).http, 2, (method) =>
      method === 'endAttempts' && refusals > 0 ? (refusals--, new Error('write refused')) : undefined,
    );
    await assert.rejects(worker.handle(requested(execution.executionId, 1)), /write refused/);
    assert.equal((await store.executions.get(execution.executionId))?.status, 'running');
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'completed', 'not skipped as held by its own live lease');
  });

  it('gives up on a run: failed with the reason, its workflow idle, its result announced; a finished run is left alone', async () => {
    const { store, clock, worker, execution } = await setup([LOG], scriptedHttp({}).http);
    const event = requested(execution.executionId, 1);
    assert.equal(await worker.giveUp(event, 'handling the request failed on 5 deliveries'), true);
    const e = await store.executions.get(execution.executionId);
    assert.equal(e?.status, 'failed');
    assert.equal(e?.error, 'handling the request failed on 5 deliveries');
    assert.equal(e?.finishedAt?.getTime(), clock.now().getTime());
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'idle');
    const [result] = await results(store);
    assert.equal(result?.type, 'ExecutionFailed');
    assert.equal(result?.data.error, 'handling the request failed on 5 deliveries');

    const outbox = (await store.outbox.backlog(clock.now())).count;
    assert.equal(await worker.giveUp(event, 'again'), false);
    assert.equal((await store.executions.get(execution.executionId))?.error, 'handling the request failed on 5 deliveries');
    assert.equal((await store.outbox.backlog(clock.now())).count, outbox, 'nothing more announced');
  });

  it('releases only the trigger its run took: a workflow deleted and recreated meanwhile stays busy with its own run', async () => {
    const { store, clock, worker, wf, execution } = await setup([{ type: 'log', message: 'hi' }], scriptedHttp({}).http);
    assert.equal(await store.workflows.delete('o', 'w'), true);
    await store.workflows.create(wf);
    const now = clock.now();
    const second = await store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: now }, DEFAULT_TOPICS, now));

    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'completed', 'the old run still finishes');
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'busy', 'the recreated workflow is still held by its own run');
    await assert.rejects(store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: now }, DEFAULT_TOPICS, now)), WorkflowBusyError, 'no second run overlaps it');

    assert.equal(await worker.handle(requested(second.executionId, 1)), 'completed');
    assert.equal((await store.workflows.get('o', 'w'))?.trigger.status, 'idle', 'its own run releases it');
  });

  it('skips a redelivered or duplicated request for a run that is finished or on another attempt', async () => {
    const { http, calls } = scriptedHttp({});
    const { worker, execution } = await setup([{ type: 'http-request', url: 'https://api.test/once', method: 'GET' }], http);
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'completed');
    assert.equal(await worker.handle(requested(execution.executionId, 1)), 'skipped');
    assert.equal(await worker.handle(requested(execution.executionId, 2)), 'skipped');
    assert.equal(calls.length, 1);
  });
});

describe('ExecutionWorker with mocked ports', () => {
  const claimed = (actions: unknown[]) => ({
    executionId: 'e1', workflowId: 'w', ownerId: 'o', attempt: 1, retriesLeft: 1, status: 'running',
    actions, steps: actions.map((a, index) => ({ index, type: (a as { type: string }).type, status: 'pending' })),
    retryPolicy: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 10 }, trigger: { type: 'manual', firedAt: new Date() },
  });

  it('abandons the attempt (lost) when its lease was taken over before the outcome was saved; the outcome carries the last step', async () => {
    const endAttempts = mock.fn(async (..._args: unknown[]) => []);
    const store = {
      executions: { claimManyForRun: mock.fn(async () => [claimed([{ type: 'log', message: 'x' }])]), saveSteps: mock.fn(async () => []), get: mock.fn(async () => null), endAttempts },
    } as unknown as Store;
    const worker = new ExecutionWorker({
      store, groupCommit: new GroupCommit(store), actions: createActions({ http: scriptedHttp({}).http }), clock: new FakeClock(), logger: silentLogger,
      topics: DEFAULT_TOPICS, config: { leaseMarginMs: 1_000 },
    });
    assert.equal(await worker.handle(requested('e1', 1)), 'lost');
    assert.equal((store.executions.saveSteps as unknown as ReturnType<typeof mock.fn>).mock.callCount(), 0, 'an instant last step is written only with the outcome');
    assert.equal(endAttempts.mock.callCount(), 1);
    const [end] = endAttempts.mock.calls[0]?.arguments[0] as AttemptEnding[];
    assert.deepEqual([end?.executionId, end?.update.status, end?.update.step?.status, end?.trigger], ['e1', 'completed', 'succeeded', 'idle']);
  });

  it('does not send a request when the step could not be recorded as running (lease lost)', async () => {
    const { http, calls } = scriptedHttp({ 'https://api.test/a': [200] });
    const uowRun = mock.fn(async () => true);
    const store = {
      executions: { claimManyForRun: mock.fn(async () => [claimed([{ type: 'http-request', url: 'https://api.test/a', method: 'GET' }])]), saveSteps: mock.fn(async () => []), get: mock.fn(async () => null) },
      uow: { run: uowRun },
    } as unknown as Store;
    const worker = new ExecutionWorker({
      store, groupCommit: new GroupCommit(store), actions: createActions({ http }), clock: new FakeClock(), logger: silentLogger, topics: DEFAULT_TOPICS, config: { leaseMarginMs: 1_000 },
    });
    assert.equal(await worker.handle(requested('e1', 1)), 'lost');
    assert.equal(calls.length, 0);
    assert.equal(uowRun.mock.callCount(), 0);
  });

  it('skips without running anything when the claim is refused', async () => {
    const saveSteps = mock.fn(async () => true);
    const store = { executions: { claimManyForRun: mock.fn(async () => []), saveSteps } } as unknown as Store;
    const worker = new ExecutionWorker({
      store, groupCommit: new GroupCommit(store), actions: createActions({ http: scriptedHttp({}).http }), clock: new FakeClock(), logger: silentLogger,
      topics: DEFAULT_TOPICS, config: { leaseMarginMs: 1_000 },
    });
    assert.equal(await worker.handle(requested('e1', 1)), 'skipped');
    assert.equal(saveSteps.mock.callCount(), 0);
  });
});
