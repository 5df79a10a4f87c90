import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '@wf/shared';
import type { FlakyServer } from '@wf/shared/testing';
import { eventually, type ExecutionView } from './support/api-client.js';
import { startSystemForSuite, type TestSystem, type TestSystemOptions } from './support/system-under-test.js';

export interface RunControlSetup {
  brokers?: string[];
  /** A fresh store for the run (memory when absent). */
  store?: () => Promise<Store>;
}

/** The test system's options for `setup`: its bus, and its store opened now. */
async function systemOptions(setup: RunControlSetup): Promise<TestSystemOptions> {
  return {
    ...(setup.brokers ? { brokers: setup.brokers } : {}),
    ...(setup.store ? { store: await setup.store() } : {}),
  };
}

/**
 * Run control driven only through the REST API, on whichever store and bus `setup` selects:
 * cancel in every state a run can be in, a cancel racing the run's own finish, and re-runs
 * from the failed step and from the start, a local counting HTTP server telling which
 * steps ran. The runner runs one execution at a time, so that a second workflow's run stays
 * queued behind a step that hangs.
 */
export function runControlScenarios(setup: RunControlSetup = {}): void {
  let sut: TestSystem;
  let server: FlakyServer;
  startSystemForSuite(async () => ({ ...(await systemOptions(setup)), runnerConcurrency: 1 }), (started) => ({ sut, server } = started));

  const run = (id: string) => sut.api.execution(id);
  const untilStatus = (id: string, statuses: ExecutionView['status'][], what: string) => sut.api.untilStatus(id, statuses, what);
  const trigger = (workflowId: string, payload?: unknown) => sut.api.triggered(workflowId, payload);
  const cancel = (id: string) => sut.api.cancel(id);
  const triggerStatus = (workflowId: string) => sut.api.triggerStatus(workflowId);

  it('cancels a running run (its http-request in flight aborted, no later step) and a queued one behind it, each at once; idempotent', async () => {
    const hang = server.script('/hang/blocker', 0);
    const after = server.script('/count/after-blocker', 0);
    await sut.api.createWorkflow({
      workflowId: 'blocker',
      trigger: { type: 'manual' },
      actions: [
        { type: 'log', message: 'first' },
        { type: 'http-request', url: hang, method: 'POST', timeoutMs: 60_000 },
        { type: 'http-request', url: after, method: 'POST' },
      ],
    });
    await sut.api.createWorkflow({ workflowId: 'behind', trigger: { type: 'manual' }, actions: [{ type: 'http-request', url: server.script('/count/behind', 0), method: 'GET' }] });

    const blocker = await trigger('blocker');
    await eventually(async () => (server.hits.get('/hang/blocker') ?? 0) >= 1, 20_000, 'the hanging step to be in flight');
    const behind = await trigger('behind');
    await sleep(300);
    assert.equal((await run(behind)).status, 'queued', 'the only runner is busy with the blocker');

    const queued = await cancel(behind);
    assert.equal(queued.status, 200, JSON.stringify(queued.body));
    assert.equal(queued.body.status, 'cancelled');
    assert.equal(await triggerStatus('behind'), 'idle');

    const started = Date.now();
    const running = await cancel(blocker);
    assert.equal(running.status, 200, JSON.stringify(running.body));
    assert.equal(running.body.status, 'cancelled');
    assert.deepEqual(running.body.steps.map((s) => s.status), ['succeeded', 'failed', 'pending'], 'the steps say which ran');
    assert.equal(running.body.steps[1]?.error, 'cancelled while running');
    assert.equal(await triggerStatus('blocker'), 'idle');
    await eventually(async () => (server.abandoned.get('/hang/blocker') ?? 0) >= 1, 10_000, 'the request in flight to be aborted');
    assert.ok(Date.now() - started < 5_000, 'aborted within the cancel poll, not at the 60 s timeout');

    const again = await cancel(blocker);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'cancelled');
    await sleep(1_500); // the runner is free again: it skips the cancelled run behind, and runs nothing after the cancelled step
    assert.equal(server.hits.get('/count/after-blocker'), undefined, 'no later step started');
    assert.equal(server.hits.get('/count/behind'), undefined, 'the cancelled queued run never ran');
    assert.deepEqual((await run(blocker)).steps.map((s) => s.status), ['succeeded', 'failed', 'pending'], 'nothing written after the cancel');
    assert.equal((await run(behind)).status, 'cancelled');
  });

  it('cancels a run waiting for its retry: it is never retried, and its workflow takes a new trigger; a finished run is 409', async () => {
    const url = server.script('/count/always-fails', Infinity);
    await sut.api.createWorkflow({
      workflowId: 'waits',
      trigger: { type: 'manual' },
      retryPolicy: { maxRetries: 3, baseDelayMs: 1_500, maxDelayMs: 1_500 },
      actions: [{ type: 'http-request', url, method: 'GET' }],
    });
    const id = await trigger('waits');
    await untilStatus(id, ['pending_retry'], 'the run to wait for its retry');
    assert.equal(await triggerStatus('waits'), 'pending');
    const res = await cancel(id);
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.nextAttemptAt, undefined);
    assert.equal(await triggerStatus('waits'), 'idle');
    await sleep(2_500);
    assert.equal(server.hits.get('/count/always-fails'), 1, 'the retry never came');
    const e = await run(id);
    assert.equal(e.status, 'cancelled');
    assert.equal(e.attempt, 1);

    await sut.api.createWorkflow({ workflowId: 'quick', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'done' }] });
    const done = await trigger('quick');
    await untilStatus(done, ['completed'], 'the quick run to complete');
    const refused = await cancel(done);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error?.code, 'execution_finished');
  });

  it('cancels a run waiting at a delay: it ends cancelled, never resumes, and its workflow takes a new trigger', async () => {
    const after = server.script('/count/after-delay', 0);
    await sut.api.createWorkflow({
      workflowId: 'delayed',
      trigger: { type: 'manual' },
      actions: [
        { type: 'delay', duration: '2s' },
        { type: 'http-request', url: after, method: 'POST' },
      ],
    });
    const id = await trigger('delayed');
    await untilStatus(id, ['waiting'], 'the run to wait at its delay');
    assert.equal(await triggerStatus('delayed'), 'busy', 'a waiting run holds its workflow');
    const res = await cancel(id);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.nextAttemptAt, undefined);
    assert.equal(await triggerStatus('delayed'), 'idle');
    await sleep(3_500); // past the delay and a few scheduler ticks
    assert.equal(server.hits.get('/count/after-delay') ?? 0, 0, 'the run never resumed');
    const e = await run(id);
    assert.equal(e.status, 'cancelled');
    assert.equal(e.attempt, 1);
    assert.equal((await cancel(id)).body.status, 'cancelled', 'idempotent');
  });

  it('a cancel racing the run\'s own finish has one winner', async () => {
    await sut.api.createWorkflow({ workflowId: 'racer', trigger: { type: 'manual' }, actions: [{ type: 'http-request', url: server.script('/slow/racer', 0), method: 'GET' }] });
    const outcomes = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const id = await trigger('racer');
      await untilStatus(id, ['running'], 'the racer to run');
      await sleep(1_300 + i * 80); // around the moment the slow answer (1.5 s) lands
      const res = await cancel(id);
      const final = await untilStatus(id, ['completed', 'cancelled'], 'the racer to end');
      if (res.status === 200) {
        assert.equal(final.status, 'cancelled', 'the cancel won: the run stays cancelled');
      } else {
        assert.equal(res.status, 409);
        assert.equal(final.status, 'completed', 'the finish won: the cancel is refused');
      }
      outcomes.add(final.status);
      await eventually(async () => (await triggerStatus('racer')) === 'idle', 10_000, 'the racer workflow to be free');
      await sleep(200);
      assert.equal((await run(id)).status, final.status, 'the loser never overwrote the winner');
    }
  });

  it('re-runs a failed run from the step that failed (the first step not run again), and from the start as a new linked run', async () => {
    const first = server.script('/count/first', 0);
    const second = server.script('/count/second', 1);
    await sut.api.createWorkflow({
      workflowId: 'rerun',
      trigger: { type: 'manual' },
      retryPolicy: { maxRetries: 0, baseDelayMs: 100, maxDelayMs: 100 },
      actions: [
        { type: 'http-request', url: first, method: 'POST', body: { order: '{{trigger.payload.order}}' } },
        { type: 'http-request', url: second, method: 'POST', body: { firstStatus: '{{steps.0.output.status}}' } },
      ],
    });
    const id = await trigger('rerun', { order: 5 });
    const failed = await untilStatus(id, ['failed'], 'the run to fail');
    assert.deepEqual(failed.steps.map((s) => s.status), ['succeeded', 'failed']);

    const res = await sut.api.request<{ executionId: string; status: string }>('POST', `/executions/${id}/retry`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.executionId, id);
    const done = await untilStatus(id, ['completed'], 'the re-run to complete');
    assert.equal(done.attempt, 2);
    assert.deepEqual(done.steps.map((s) => s.status), ['succeeded', 'succeeded']);
    assert.equal(done.steps[0]?.attempt, 1, 'the first step is the one of the first attempt');
    assert.equal(server.hits.get('/count/first'), 1, 'the step that succeeded did not run again');
    assert.equal(server.hits.get('/count/second'), 2);
    assert.deepEqual(server.bodies.get('/count/second')?.[1], { firstStatus: 200 }, 'the kept output still feeds the later step');

    const fresh = await sut.api.request<{ executionId: string }>('POST', `/executions/${id}/retry`, { from: 'start' });
    assert.equal(fresh.status, 202, JSON.stringify(fresh.body));
    const copy = await untilStatus(fresh.body.executionId, ['completed'], 'the run from the start to complete');
    assert.notEqual(copy.executionId, id);
    assert.equal(copy.rerunOf, id);
    assert.deepEqual(copy.trigger.payload, { order: 5 });
    assert.equal(server.hits.get('/count/first'), 2, 'from the start, every step runs');
    assert.deepEqual(server.bodies.get('/count/first')?.[1], { order: 5 });
  });
}

/**
 * Retention over the REST API, on a system of its own whose finished runs are kept 6 s and
 * whose retention job runs twice a second: a workflow's runs beyond its `maxRuns`, then every
 * finished run past the period, are deleted; runs that have not finished, and runs that
 * finished recently, stay.
 */
export function retentionScenarios(setup: RunControlSetup = {}): void {
  const RETENTION_MS = 6_000;
  let sut: TestSystem;
  let server: FlakyServer;
  startSystemForSuite(async () => ({ ...(await systemOptions(setup)), executionRetentionMs: RETENTION_MS }), (started) => ({ sut, server } = started));

  const completedRun = async (workflowId: string) => {
    const id = await sut.api.triggered(workflowId);
    await sut.api.untilStatus(id, ['completed'], 'the run to complete');
    return id;
  };
  const exists = async (id: string) => (await sut.api.request('GET', `/executions/${id}`)).status === 200;

  it('deletes only what it should: runs beyond maxRuns, then finished runs past the period; never unfinished or recent ones', async () => {
    await sut.api.createWorkflow({ workflowId: 'capped', trigger: { type: 'manual' }, retention: { maxRuns: 2 }, actions: [{ type: 'log', message: 'x' }] });
    await sut.api.createWorkflow({ workflowId: 'plain', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] });
    await sut.api.createWorkflow({
      workflowId: 'waiting',
      trigger: { type: 'manual' },
      retryPolicy: { maxRetries: 3, baseDelayMs: 600_000, maxDelayMs: 600_000 },
      actions: [{ type: 'http-request', url: server.script('/count/fails', Infinity), method: 'GET' }],
    });
    assert.equal((await sut.api.workflow('capped') as unknown as { retention?: unknown }).retention !== undefined, true);

    const capped: string[] = [];
    for (let i = 0; i < 4; i++) capped.push(await completedRun('capped'));
    const plain = await completedRun('plain');
    const waiting = await sut.api.triggered('waiting');
    await sut.api.untilStatus(waiting, ['pending_retry'], 'the run to wait for its retry');

    await eventually(async () => !(await exists(capped[1]!)), 5_000, 'the runs beyond maxRuns to go', 100);
    assert.equal(await exists(capped[0]!), false);
    assert.equal(await exists(capped[2]!), true, 'the newest two stay');
    assert.equal(await exists(capped[3]!), true);
    assert.equal(await exists(plain), true, 'a workflow without maxRuns keeps its runs for the period');

    await eventually(async () => !(await exists(plain)), RETENTION_MS + 10_000, 'the finished run past the period to go', 200);
    const fresh = await completedRun('plain');
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // two passes of the job
    assert.equal(await exists(fresh), true, 'a run that finished just now stays');
    assert.equal(await exists(waiting), true, 'a run that has not finished is never deleted');
    const listed = await sut.api.request<{ items: { executionId: string }[] }>('GET', '/executions?limit=100');
    assert.deepEqual(listed.body.items.map((e) => e.executionId).sort(), [fresh, waiting].sort(), 'what is left, across workflows');
  });
}

/**
 * `overlap: "queue"` over the REST API: a periodic workflow due every 4 s whose run takes
 * 4.5 s (three steps of 1.5 s), so the next due time always falls while a run is in
 * progress. It waits, and runs as soon as the run before it finished (a held run is checked
 * at least every second), well before the due time after: never two at once, none skipped.
 * With `skip` that due time would be skipped and the next run would wait for the one after.
 */
export function overlapQueueScenarios(setup: RunControlSetup = {}): void {
  const INTERVAL_MS = 4_000;
  let sut: TestSystem;
  let server: FlakyServer;
  startSystemForSuite(() => systemOptions(setup), (started) => ({ sut, server } = started));

  it('runs a due time that fell while a run was in progress right after that run, one at a time, none lost', async () => {
    const slowStep = { type: 'http-request', url: `${server.url}/slow/queued`, method: 'GET' };
    await sut.api.createWorkflow({
      workflowId: 'queued',
      trigger: { type: 'periodic', interval: `${INTERVAL_MS / 1000}s`, overlap: 'queue' },
      actions: [slowStep, slowStep, slowStep],
    });
    const runs = await eventually(async () => {
      const done = (await sut.api.executions('queued')).filter((e) => e.status === 'completed');
      return done.length >= 3 ? done : undefined;
    }, 40_000, 'three completed runs');
    assert.equal((await sut.api.request('PATCH', '/workflows/queued', { enabled: false })).status, 200);

    const at = (iso: string | undefined) => Date.parse(iso!);
    const ordered = [...runs].sort((a, b) => at(a.startedAt) - at(b.startedAt));
    for (let i = 1; i < ordered.length; i++) {
      const before = ordered[i - 1]!;
      const next = ordered[i]!;
      const what = `run ${i} (due ${next.trigger.scheduledFor}, started ${next.startedAt}) after the one due ${before.trigger.scheduledFor} (${before.startedAt} to ${before.finishedAt})`;
      assert.ok(at(next.startedAt) >= at(before.finishedAt), `${what}: started before the previous finished`);
      assert.ok(at(next.trigger.scheduledFor) < at(before.finishedAt), `${what}: not the due time that fell during the previous run (skipped instead of queued)`);
      assert.ok(at(next.trigger.scheduledFor) > at(before.trigger.scheduledFor), `${what}: a due time run twice`);
      assert.ok(at(next.startedAt) - at(before.finishedAt) < 2_500, `${what}: waited ${at(next.startedAt) - at(before.finishedAt)} ms after the previous finished`);
    }
    const all = await eventually(async () => {
      const items = await sut.api.executions('queued');
      return items.every((e) => e.status === 'completed') ? items : undefined;
    }, 15_000, 'the runs accepted before the workflow was disabled to complete');
    assert.equal(server.hits.get('/slow/queued'), all.length * 3, 'every run called each step once');
  });
}
