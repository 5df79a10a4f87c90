import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiClient, eventually } from './support/api-client.js';
import { FlakyServer, kafkaTier } from '@wf/shared/testing';
import { freePort, ServiceProcess, serviceEnv } from './support/processes.js';
import { mongoStore, postgresStore, type DurableStore } from './support/stores.js';

const kafka = kafkaTier();

/**
 * The three services as separate OS processes on a durable store and the real Kafka broker,
 * driven only through the REST API; then the faults: a runner killed with SIGKILL in the
 * middle of a batch, and every service stopped with SIGTERM. On PostgreSQL always (CI has
 * it); on MongoDB whenever one is reachable (MONGO_URL or MONGOMS_SYSTEM_BINARY).
 */
for (const store of [postgresStore(), mongoStore()]) describeEndToEnd(store);

function describeEndToEnd(store: DurableStore): void {
  describe(`multi-process end to end on ${store.name} and Kafka`, { skip: kafka.skip ?? store.skip }, () => {
    const suffix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const database = `wf_e2e_${suffix}`;
    const flaky = new FlakyServer();
    let env: Record<string, string>;
    let api: ApiClient;
    let workflows: ServiceProcess;
    let scheduler: ServiceProcess;
    let runner: ServiceProcess;
    const extra: ServiceProcess[] = [];

    const service = async (name: 'workflows-svc' | 'scheduler-svc' | 'runner-svc') => {
      const port = await freePort();
      return new ServiceProcess(name, { ...env, PORT: String(port), HEALTH_PORT: String(port) }, `http://127.0.0.1:${port}`);
    };

    before(async () => {
      await flaky.start();
      env = serviceEnv('mp', suffix, {
        ...(await store.provision(database)),
        KAFKA_BROKERS: kafka.url!,
        TOPIC_EXECUTION_REQUESTED: `mp.requested.${suffix}`,
        TOPIC_EXECUTION_RESULT: `mp.result.${suffix}`,
        TOPIC_DEAD_LETTER: `mp.dlq.${suffix}`,
      });
      workflows = await (await service('workflows-svc')).start();
      scheduler = await (await service('scheduler-svc')).start();
      runner = await (await service('runner-svc')).start();
      api = await new ApiClient(workflows.healthUrl).signUp();
    });

    after(async () => {
      for (const p of [workflows, scheduler, runner, ...extra]) await p?.stop('SIGKILL').catch(() => undefined);
      await flaky.stop();
      await store.drop().catch(() => undefined);
    });

    it('runs a manual workflow through all three processes, retrying to completion', async () => {
      const url = flaky.script('/mp/flaky', 1);
      await api.createWorkflow({
        workflowId: 'mp-flaky',
        trigger: { type: 'manual' },
        retryPolicy: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 200 },
        actions: [{ type: 'log', message: 'start' }, { type: 'http-request', url, method: 'GET' }],
      });
      const { body } = await api.trigger('mp-flaky');
      const done = await eventually(async () => {
        const e = await api.execution(body.executionId!);
        return e.status === 'completed' || e.status === 'failed' ? e : undefined;
      }, 30_000, 'the run to finish');
      assert.equal(done.status, 'completed');
      assert.equal(done.attempt, 2);
      assert.equal(flaky.hits.get('/mp/flaky'), 2);
    });

    it('serves /healthz, /readyz and the Prometheus metrics the runs produced on every service', async () => {
      const text = async (svc: ServiceProcess, path: string) => {
        const res = await fetch(`${svc.healthUrl}${path}`);
        assert.equal(res.status, 200, `${path} of ${svc.healthUrl}`);
        return res.text();
      };
      for (const svc of [workflows, scheduler, runner]) {
        assert.deepEqual(JSON.parse(await text(svc, '/healthz')), { status: 'ok' });
        const ready = JSON.parse(await text(svc, '/readyz')) as { status: string; checks: Record<string, string> };
        assert.equal(ready.status, 'ready');
        assert.equal(ready.checks.store, 'ok', `${svc.healthUrl} checks its store`);
        assert.ok(Object.values(ready.checks).every((c) => c === 'ok'), JSON.stringify(ready));
      }
      assert.equal((JSON.parse(await text(runner, '/readyz')) as { checks: Record<string, string> }).checks.broker, 'ok', 'the runner checks the broker');
      const sample = (metrics: string, series: RegExp) => {
        const line = metrics.split('\n').find((l) => series.test(l));
        assert.ok(line, `no sample matching ${series} in:\n${metrics.slice(0, 2_000)}`);
        return Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      const fromWorkflows = await text(workflows, '/metrics');
      // Completed runs are estimated from the store's statistics, which may lag a few seconds;
      // the runner's counter below is exact.
      assert.ok(sample(fromWorkflows, /^wf_executions\{[^}]*status="completed"/) >= 0);
      assert.ok(sample(fromWorkflows, /^wf_executions\{[^}]*status="queued"/) >= 0);
      assert.ok(sample(fromWorkflows, /^wf_executions_accepted_total\{[^}]*trigger="manual"/) >= 1);
      assert.ok(sample(fromWorkflows, /^wf_outbox_backlog\{/) >= 0);
      const fromScheduler = await text(scheduler, '/metrics');
      assert.ok(sample(fromScheduler, /^wf_outbox_published_total\{/) >= 2, 'the request and the results were relayed');
      const fromRunner = await text(runner, '/metrics');
      assert.ok(sample(fromRunner, /^wf_action_duration_seconds_count\{[^}]*type="http-request"[^}]*\}/) >= 1);
      assert.ok(sample(fromRunner, /^wf_execution_attempts_total\{[^}]*status="completed"/) >= 1);
      assert.ok(sample(fromRunner, /^wf_consumer_lag\{[^}]*topic="mp\.requested\./) >= 0, 'consumer lag per partition');
    });

    it('loses nothing when a runner is killed with SIGKILL mid-batch: a second runner finishes every run, no succeeded step runs twice', async () => {
      const n = 12;
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const first = flaky.script(`/mp/kill/${i}/first`, 0);
        await api.createWorkflow({
          workflowId: `kill-${i}`,
          trigger: { type: 'manual' },
          retryPolicy: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 200 },
          actions: [
            { type: 'http-request', url: first, method: 'GET' },
            { type: 'http-request', url: `${flaky.url}/slow/mp-kill-${i}`, method: 'GET', timeoutMs: 3_000 },
          ],
        });
        const { status, body } = await api.trigger(`kill-${i}`);
        assert.equal(status, 202);
        ids.push(body.executionId!);
      }
      // Wait until the runner is in the middle of the batch, then kill it without warning.
      await eventually(async () => [...flaky.hits.keys()].filter((k) => k.startsWith('/slow/mp-kill-')).length >= 1, 20_000, 'the runner to be mid-batch');
      await runner.stop('SIGKILL');
      // The first steps whose success the dead runner had recorded: those must never run again.
      // (One it was still running, or had not recorded yet, runs again: steps are at least once.)
      const recorded = (await Promise.all(ids.map((id) => api.execution(id)))).flatMap((e, i) => (e.steps[0]?.status === 'succeeded' ? [i] : []));
      assert.ok(recorded.length > 0, 'the runner was killed after recording some first step');
      const second = await (await service('runner-svc')).start();
      extra.push(second);

      const finished = await eventually(async () => {
        const all = await Promise.all(ids.map((id) => api.execution(id)));
        return all.every((e) => e.status === 'completed' || e.status === 'failed') ? all : undefined;
      }, 90_000, 'every accepted run to finish after the kill', 250);
      assert.deepEqual(finished.map((e) => e.status), ids.map(() => 'completed'));
      for (const i of recorded) assert.equal(flaky.hits.get(`/mp/kill/${i}/first`), 1, `run ${i}: the step that had succeeded ran once`);
      // A step in flight when its runner died ran again, with the same Idempotency-Key.
      const rerun = ids.flatMap((id, i) => {
        const keys = (flaky.headers.get(`/slow/mp-kill-${i}`) ?? []).map((h) => h['idempotency-key']);
        return keys.length >= 2 ? [{ id, keys }] : [];
      });
      assert.ok(rerun.length > 0, 'some step was in flight when the runner was killed, and ran again');
      for (const { id, keys } of rerun) assert.deepEqual(keys, keys.map(() => `${id}.step-1`), 'the same key on every run of the step');
      for (const e of finished) assert.equal((await api.workflow(e.workflowId)).trigger.status, 'idle');
      runner = second;
    });

    it('ends a run at a filter whose condition is false: completed, the steps after it skipped', async () => {
      const url = flaky.script('/mp/filtered', 0);
      await api.createWorkflow({
        workflowId: 'mp-filter',
        trigger: { type: 'manual' },
        actions: [{ type: 'filter', when: { '==': [{ var: 'trigger.payload.kind' }, 'order'] } }, { type: 'http-request', url, method: 'POST' }],
      });
      const { body } = await api.trigger('mp-filter', { kind: 'refund' });
      const done = await eventually(async () => {
        const e = await api.execution(body.executionId!);
        return e.status === 'completed' || e.status === 'failed' ? e : undefined;
      }, 30_000, 'the filtered run to finish');
      assert.equal(done.status, 'completed');
      assert.deepEqual(done.steps.map((s) => s.status), ['succeeded', 'skipped']);
      assert.equal(flaky.hits.get('/mp/filtered'), undefined);
    });

    it('sends a secret where a step uses it (sealed by the API, opened by the runner), and keeps it out of every answer and log', async () => {
      const token = `tok_${randomBytes(8).toString('hex')}`;
      assert.equal((await api.request('PUT', '/secrets/mp_token', { value: token })).status, 201);
      await api.createWorkflow({
        workflowId: 'mp-secret',
        trigger: { type: 'manual' },
        actions: [
          { type: 'http-request', url: `${flaky.url}/echo/mp-secret`, method: 'POST', headers: { 'x-token': '{{secrets.mp_token}}' } },
          // At warn, the level these services log at here.
          { type: 'log', level: 'warn', message: 'mp token {{secrets.mp_token}}' },
        ],
      });
      const { body } = await api.trigger('mp-secret');
      const done = await eventually(async () => {
        const e = await api.execution(body.executionId!);
        return e.status === 'completed' || e.status === 'failed' ? e : undefined;
      }, 30_000, 'the run to finish');
      assert.equal(done.status, 'completed');
      assert.equal(flaky.headers.get('/echo/mp-secret')?.[0]?.['x-token'], token);
      assert.ok(!JSON.stringify(done).includes(token), JSON.stringify(done));
      assert.ok(!JSON.stringify((await api.request('GET', '/secrets')).body).includes(token));
      assert.ok(runner.log.includes('mp token [secret:mp_token]'), 'the log action logged, concealed');
      for (const p of [workflows, scheduler, runner, ...extra]) assert.ok(!p.log.includes(token), `${p.name} logged the value`);
    });

    it('parks a run at a 2 s delay and resumes it on time although every service restarted while it waited', async () => {
      const before = flaky.script('/mp/delay/before', 0);
      const afterDelay = flaky.script('/mp/delay/after', 0);
      await api.createWorkflow({
        workflowId: 'mp-delay',
        trigger: { type: 'manual' },
        actions: [{ type: 'http-request', url: before, method: 'POST' }, { type: 'delay', duration: '2s' }, { type: 'http-request', url: afterDelay, method: 'POST' }],
      });
      const { body } = await api.trigger('mp-delay');
      const waiting = await eventually(async () => {
        const e = await api.execution(body.executionId!);
        return e.status === 'waiting' ? e : undefined;
      }, 30_000, 'the run to wait at the delay');
      const resumeAt = Date.parse((waiting.steps[1]?.output as { resumeAt: string }).resumeAt);
      assert.equal((await api.workflow('mp-delay')).trigger.status, 'busy', 'the waiting run keeps its workflow busy');
      // Every service goes down while the run waits; nothing holds the run but the store.
      for (const p of [workflows, scheduler, runner]) assert.equal(await p.stop('SIGTERM', 30_000), 0, `${p.name}\n${p.log}`);
      assert.equal(flaky.hits.get('/mp/delay/after'), undefined);
      for (const p of [workflows, scheduler, runner]) await p.start();
      const done = await eventually(async () => {
        const e = await api.execution(body.executionId!);
        return e.status === 'completed' || e.status === 'failed' ? e : undefined;
      }, 30_000, 'the run to resume and finish');
      assert.equal(done.status, 'completed');
      assert.deepEqual(done.steps.map((s) => s.status), ['succeeded', 'succeeded', 'succeeded']);
      assert.ok(Date.parse(done.steps[2]!.startedAt!) >= resumeAt, 'not resumed before its time');
      assert.equal(flaky.hits.get('/mp/delay/before'), 1, 'the step before the delay ran once');
      assert.equal(flaky.hits.get('/mp/delay/after'), 1);
      assert.equal((await api.workflow('mp-delay')).trigger.status, 'idle');
    });

    it('stops every service gracefully on SIGTERM, in bounded time, with exit code 0', async () => {
      for (const p of [workflows, scheduler, runner]) {
        const started = Date.now();
        assert.equal(await p.stop('SIGTERM', 30_000), 0, `${p.name} exit code\n${p.log}`);
        assert.ok(Date.now() - started < 30_000);
      }
    });
  });
}
