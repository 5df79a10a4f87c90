import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { kafkaTier, postgresTier } from '@wf/shared/testing';
import { ApiClient, eventually, type ExecutionView } from './support/api-client.js';
import { FlakyServer } from '@wf/shared/testing';
import { LocalBroker } from './support/local-broker.js';
import { freePort, ServiceProcess, serviceEnv } from './support/processes.js';

const postgres = postgresTier();
const kafka = kafkaTier(); // the Kafka tier must be on; these tests then run a broker of their own
const skip = postgres.skip ?? kafka.skip ?? (LocalBroker.available() ? undefined : 'fault tier skipped: needs Java and Maven for a broker of its own');

/**
 * Fault tests, multi-process, bounded in time, all on 127.0.0.1. Each asserts that every
 * accepted execution ends completed or failed exactly once with no succeeded step run twice.
 */
describe('faults (multi-process, PostgreSQL, a Kafka broker of their own)', { skip }, () => {
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `wf_faults_${suffix}`;
  const flaky = new FlakyServer();
  let broker: LocalBroker;
  let env: Record<string, string>;
  let db: pg.Client;
  let api: ApiClient;
  const running = new Set<ServiceProcess>();

  const start = async (name: 'workflows-svc' | 'scheduler-svc' | 'runner-svc', port?: number, until: 'ready' | 'alive' = 'ready') => {
    const p = port ?? (await freePort());
    const svc = await new ServiceProcess(name, { ...env, PORT: String(p), HEALTH_PORT: String(p) }, `http://127.0.0.1:${p}`).start(until);
    running.add(svc);
    return svc;
  };
  const stop = async (svc: ServiceProcess, signal: NodeJS.Signals = 'SIGTERM') => {
    await svc.stop(signal);
    running.delete(svc);
  };

  /** Every execution of these workflows, finished, exactly once per run. */
  const allFinished = (ids: string[], timeoutMs: number) =>
    eventually(async () => {
      const all = await Promise.all(ids.map((id) => api.execution(id)));
      return all.every((e) => e.status === 'completed' || e.status === 'failed') ? all : undefined;
    }, timeoutMs, `${ids.length} runs to finish`, 250);

  before(async () => {
    await flaky.start();
    broker = new LocalBroker(await freePort(), await freePort());
    broker.start();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(postgres.url!);
    url.pathname = `/${database}`;
    env = serviceEnv('faults', suffix, { DATABASE_URL: url.toString(), KAFKA_BROKERS: broker.brokers });
    db = new pg.Client({ connectionString: env.DATABASE_URL });
    const api0 = await start('workflows-svc');
    await db.connect();
    api = await new ApiClient(api0.healthUrl).signUp();
  });

  after(async () => {
    for (const svc of running) await svc.stop('SIGKILL').catch(() => undefined);
    await db?.end().catch(() => undefined);
    broker?.destroy();
    await flaky.stop();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });

  it('two schedulers on one store never emit the same periodic run twice', async () => {
    const runner = await start('runner-svc');
    const schedulers = [await start('scheduler-svc'), await start('scheduler-svc')];
    for (let i = 0; i < 20; i++) {
      await api.createWorkflow({ workflowId: `tick-${i}`, trigger: { type: 'periodic', interval: '1s' }, actions: [{ type: 'log', message: 'tick' }] });
    }
    await new Promise((r) => setTimeout(r, 6_000));
    for (const s of schedulers) await stop(s);
    const { rows } = await db.query<{ workflow_id: string; due: string; n: string }>(
      `SELECT workflow_id, trigger->>'scheduledFor' AS due, count(*) AS n FROM executions
       WHERE workflow_id LIKE 'tick-%' GROUP BY 1, 2`,
    );
    assert.ok(rows.length >= 20 * 3, `periodic runs were emitted (${rows.length})`);
    assert.deepEqual(rows.filter((r) => Number(r.n) > 1), [], 'no due time emitted twice');
    for (let i = 0; i < 20; i++) await api.request('DELETE', `/workflows/tick-${i}`);
    await stop(runner);
  });

  it('keeps accepting triggers while the broker is down; the outbox grows, then drains when it is back', async () => {
    const scheduler = await start('scheduler-svc');
    const runner = await start('runner-svc');
    const ids: string[] = [];
    const trigger = async (i: number) => {
      const res = await api.trigger(`load-${i}`);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      ids.push(res.body.executionId!);
    };
    for (let i = 0; i < 30; i++) {
      await api.createWorkflow({ workflowId: `load-${i}`, trigger: { type: 'manual' }, actions: [{ type: 'http-request', url: flaky.script(`/load/${i}`, 0), method: 'GET' }] });
    }
    for (let i = 0; i < 10; i++) await trigger(i);
    broker.stop();
    for (let i = 10; i < 30; i++) await trigger(i); // accepted with the broker down
    const backlog = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]?.n);
    assert.ok((await backlog()) >= 20, 'the runs accepted meanwhile wait in the outbox');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.ok((await backlog()) >= 20, 'and stay there while the broker is down');
    broker.start();
    const finished = await allFinished(ids, 120_000);
    assert.deepEqual(finished.map((e) => e.status), ids.map(() => 'completed'));
    // Finishing a run adds its result event to the outbox too, so the drain is awaited, not sampled.
    await eventually(async () => (await backlog()) === 0, 60_000, 'the outbox to drain');
    for (let i = 0; i < 30; i++) assert.equal(flaky.hits.get(`/load/${i}`), 1, `run ${i} ran its step once`);
    await stop(scheduler);
    await stop(runner);
  });

  it('a scheduler and a runner started while the broker is down wait for it (alive, not ready), then work', async () => {
    broker.stop();
    await api.createWorkflow({ workflowId: 'late-broker', trigger: { type: 'manual' }, actions: [{ type: 'http-request', url: flaky.script('/late-broker', 0), method: 'GET' }] });
    const accepted = await api.trigger('late-broker'); // the API needs no broker: the run waits in the outbox
    assert.equal(accepted.status, 202);
    const scheduler = await start('scheduler-svc', undefined, 'alive');
    const runner = await start('runner-svc', undefined, 'alive');
    await new Promise((r) => setTimeout(r, 5_000)); // long enough for a start-up that gives up on the broker to exit
    for (const svc of [scheduler, runner]) {
      assert.equal(svc.exitCode, null, `${svc.name} is still running\n${svc.log}`);
      assert.equal((await fetch(`${svc.healthUrl}/healthz`)).status, 200);
      const ready = await fetch(`${svc.healthUrl}/readyz`);
      assert.equal(ready.status, 503, `${svc.name} is not ready without its broker`);
      assert.match(((await ready.json()) as { checks: { startup: string } }).checks.startup, /waiting for the broker/);
    }
    broker.start();
    await eventually(async () => (await fetch(`${scheduler.healthUrl}/readyz`)).ok && (await fetch(`${runner.healthUrl}/readyz`)).ok, 90_000, 'both to be ready once the broker is up');
    const [finished] = await allFinished([accepted.body.executionId!], 60_000);
    assert.equal(finished?.status, 'completed');
    assert.equal(flaky.hits.get('/late-broker'), 1);
    await stop(scheduler);
    await stop(runner);
  });

  it('restarting every service mid-run loses nothing accepted', async () => {
    let scheduler = await start('scheduler-svc');
    let runner = await start('runner-svc');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      await api.createWorkflow({
        workflowId: `restart-${i}`,
        trigger: { type: 'manual' },
        retryPolicy: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 200 },
        actions: [
          { type: 'http-request', url: flaky.script(`/restart/${i}/first`, 0), method: 'GET' },
          { type: 'http-request', url: `${flaky.url}/slow/restart-${i}`, method: 'GET', timeoutMs: 3_000 },
        ],
      });
      ids.push((await api.trigger(`restart-${i}`)).body.executionId!);
    }
    await eventually(async () => [...flaky.hits.keys()].some((k) => k.startsWith('/slow/restart-')), 20_000, 'runs in flight');
    const [apiSvc] = [...running].filter((s) => s.name === 'workflows-svc');
    const apiPort = Number(new URL(apiSvc!.healthUrl).port);
    for (const svc of [apiSvc!, scheduler, runner]) await stop(svc);
    await start('workflows-svc', apiPort);
    scheduler = await start('scheduler-svc');
    runner = await start('runner-svc');
    const finished: ExecutionView[] = await allFinished(ids, 120_000);
    assert.deepEqual(finished.map((e) => e.status), ids.map(() => 'completed'));
    for (let i = 0; i < 10; i++) assert.equal(flaky.hits.get(`/restart/${i}/first`), 1, `run ${i}: the succeeded step ran once`);
  });
});
