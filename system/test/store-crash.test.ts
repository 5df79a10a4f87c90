import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { FlakyServer, kafkaTier } from '@wf/shared/testing';
import { ApiClient, eventually, type ExecutionView } from './support/api-client.js';
import { PrivatePostgres } from './support/private-postgres.js';
import { freePort, ServiceProcess, serviceEnv, type ServiceName } from './support/processes.js';

const kafka = kafkaTier();
const noCluster = PrivatePostgres.unavailable();
// CI requires the PostgreSQL tier: there this fault must run, not skip quietly.
if (noCluster && process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but the store crash fault cannot start a cluster of its own: ${noCluster}`);
const skip = kafka.skip ?? (noCluster ? `store crash fault skipped: ${noCluster}` : undefined);

/** Workflows triggered in a loop, each waiting for its run to finish before the next. */
const LANES = 12;
/** How long the database stays down. */
const OUTAGE_MS = 8_000;
/** A client's patience: every request is answered (a 503 at worst) well within this, outage or not. */
const ANSWER_WITHIN_MS = 30_000;

/**
 * The durable stack on a PostgreSQL cluster of the test's own, whose postmaster is killed with
 * SIGKILL under load and started again: every service stays up through it, answers 503 (never
 * 500, never a refused connection), loses nothing accepted and runs no step again after its
 * success was recorded.
 */
describe('a PostgreSQL crash under load (multi-process, a private cluster, Kafka)', { skip }, () => {
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const flaky = new FlakyServer();
  const services: ServiceProcess[] = [];
  let cluster: PrivatePostgres;
  let env: Record<string, string>;
  let db: pg.Pool;
  let api: ApiClient;

  const service = async (name: ServiceName, until: 'ready' | 'alive' = 'ready') => {
    const port = await freePort();
    const svc = new ServiceProcess(name, { ...env, PORT: String(port), HEALTH_PORT: String(port) }, `http://127.0.0.1:${port}`);
    services.push(svc);
    return svc.start(until);
  };

  before(async () => {
    await flaky.start();
    cluster = new PrivatePostgres(await freePort());
    cluster.start();
    const url = new URL(cluster.url);
    url.pathname = '/wf';
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('CREATE DATABASE wf');
    await admin.end();
    env = serviceEnv('crash', suffix, {
      STORE: 'postgres',
      DATABASE_URL: url.toString(),
      KAFKA_BROKERS: kafka.url!,
      TOPIC_EXECUTION_REQUESTED: `crash.requested.${suffix}`,
      TOPIC_EXECUTION_RESULT: `crash.result.${suffix}`,
      TOPIC_DEAD_LETTER: `crash.dlq.${suffix}`,
      STARTUP_TIMEOUT: '2m',
      TRIGGER_RATE_LIMIT_PER_USER: '0',
      TRIGGER_RATE_LIMIT_PER_WORKFLOW: '0',
    });
    // Its own pool, with an error listener: its connections die with the server too.
    db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    db.on('error', () => undefined);
    const workflows = await service('workflows-svc');
    await service('scheduler-svc');
    await service('runner-svc');
    api = await new ApiClient(workflows.healthUrl).signUp();
    for (let i = 0; i < LANES; i++) {
      await api.createWorkflow({
        workflowId: `crash-${i}`,
        trigger: { type: 'manual' },
        retryPolicy: { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 500 },
        actions: [0, 1].map((step) => ({ type: 'http-request', url: `${flaky.url}/crash/{{execution.id}}/${step}`, method: 'GET' })),
      });
    }
  });

  after(async () => {
    for (const svc of services) await svc.stop('SIGKILL').catch(() => undefined);
    await db?.end().catch(() => undefined);
    cluster?.destroy();
    await flaky.stop();
  });

  it('keeps every service up (503 while the database is down), resumes by itself, loses nothing, re-runs no recorded step', async (t) => {
    const answers: { what: string; status: number | string }[] = [];
    const accepted: string[] = [];
    /**
     * The figures are taken as a client sees them: when a lane first read its run finished.
     * The rows' `finished_at` will not do: it is stamped when the step ended, which for a run
     * caught by the crash can be before the crash even though it was recorded after.
     */
    const seenFinishedAt = new Map<string, number>();
    /** Per lane, when each of its runs was accepted. */
    const acceptedAt = new Map<string, { lane: number; at: number }>();
    let stopping = false;
    /**
     * The first answer a lane did not expect (a 500, a refused connection, no answer in time):
     * every lane stops on it, and the test ends at its next wait with this message rather than
     * keep loading a broken stack or wait out its timeouts.
     */
    let laneFailure: Error | undefined;
    const failLanes = (err: Error) => {
      laneFailure ??= err;
      stopping = true;
    };
    const checkLanes = () => {
      if (laneFailure) throw laneFailure;
    };
    /** `eventually`, cut short by a lane's failure. */
    const until = async <T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, what: string, intervalMs?: number): Promise<T> => {
      const value = await eventually(async () => laneFailure ?? probe(), timeoutMs, what, intervalMs);
      checkLanes();
      return value as T;
    };
    const pause = async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      checkLanes();
    };
    const EXPECTED = { trigger: [202, 503], read: [200, 503] } as const;
    /** A request as a client makes it, its answer recorded (a refused connection too); an unexpected one fails the lanes. */
    const call = async <T>(lane: number, what: keyof typeof EXPECTED, method: string, path: string, headers: Record<string, string> = {}) => {
      let res: Awaited<ReturnType<typeof api.request<T>>> | undefined;
      let status: number | string;
      try {
        res = await api.request<T>(method, path, undefined, headers, { timeoutMs: ANSWER_WITHIN_MS });
        status = res.status;
      } catch (err) {
        status = `no answer: ${String((err as Error).cause ?? (err as Error).message)}`;
      }
      answers.push({ what, status });
      if (!(EXPECTED[what] as readonly unknown[]).includes(status)) {
        const body = res ? ` ${JSON.stringify(res.body)?.slice(0, 300)}` : '';
        failLanes(new Error(`lane ${lane}: ${method} ${path} answered ${status}${body} (expected ${EXPECTED[what].join(' or ')}); the lanes stopped`));
        return undefined;
      }
      return res;
    };
    const lane = async (i: number) => {
      for (let seq = 0; !stopping; ) {
        // The same key until accepted: a retry after a lost answer gets the run that was created.
        const res = await call<{ executionId: string }>(i, 'trigger', 'POST', `/workflows/crash-${i}/trigger`, { 'idempotency-key': `lane-${i}-${seq}` });
        if (res?.status !== 202) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        const id = res.body.executionId;
        accepted.push(id);
        acceptedAt.set(id, { lane: i, at: Date.now() });
        seq += 1;
        while (!stopping) {
          const run = await call<ExecutionView>(i, 'read', 'GET', `/executions/${id}`);
          if (run?.status === 200 && (run.body.status === 'completed' || run.body.status === 'failed')) {
            seenFinishedAt.set(id, Date.now());
            break;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    const lanes = Array.from({ length: LANES }, (_, i) => lane(i).catch((err: unknown) => failLanes(new Error(`lane ${i} threw: ${String(err)}`))));
    t.after(() => {
      stopping = true; // also when an assertion below fails: the lanes must not outlive the test
    });
    const finishedCount = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM executions WHERE status = 'completed'")).rows[0]?.n);
    await until(async () => (await finishedCount()) >= 2 * LANES, 60_000, 'the load to get going');

    // The outage's backlog: the runs not finished when the database goes away, read just before.
    const caught = (await db.query<{ id: string }>("SELECT execution_id AS id FROM executions WHERE status NOT IN ('completed', 'failed')")).rows.map((r) => r.id);
    const finishedBeforeCrash = new Set(accepted.filter((id) => !caught.includes(id)));
    // The crash: SIGKILL to the postmaster, mid-load.
    cluster.crash();
    const crashedAt = Date.now();
    await pause(2_000);
    // A runner started during the outage waits for its store: alive, not ready.
    const lateRunner = await service('runner-svc', 'alive');
    for (const svc of services) {
      assert.equal(svc.exitCode, null, `${svc.name} is still running\n${svc.log}`);
      assert.equal((await fetch(`${svc.healthUrl}/healthz`)).status, 200, `${svc.name} /healthz`);
      assert.equal((await fetch(`${svc.healthUrl}/readyz`)).status, 503, `${svc.name} /readyz`);
    }
    await pause(Math.max(0, OUTAGE_MS - (Date.now() - crashedAt)));

    const restartingAt = Date.now();
    await cluster.restart();
    const restartedAt = new Date();
    await until(async () => (await fetch(`${lateRunner.healthUrl}/readyz`)).ok, 60_000, 'the runner started during the outage to be ready');
    // Steady again: every run that was in flight at the crash finishes, and new ones keep coming.
    await until(
      async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM executions WHERE created_at < $1 AND status NOT IN ('completed', 'failed')", [restartedAt])).rows[0]?.n) === 0,
      90_000,
      'the backlog of the outage to clear',
      250,
    );
    const afterRecovery = accepted.length;
    await until(async () => accepted.length >= afterRecovery + LANES, 60_000, 'new runs after the recovery');
    stopping = true;
    await Promise.all(lanes);
    checkLanes();

    for (const svc of services) assert.equal(svc.exitCode, null, `${svc.name} never exited\n${svc.log}`);
    const unexpected = answers.filter((a) => !(a.what === 'trigger' ? [202, 503] : [200, 503]).includes(a.status as number));
    assert.deepEqual(unexpected, [], 'every answer was a success or a 503; no 500, no refused connection');
    const refusedWith503 = answers.filter((a) => a.status === 503).length;
    assert.ok(refusedWith503 > 0, 'the outage was seen by the clients, as 503s');

    // Nothing accepted lost, every run finished (completed: the steps always succeed).
    const runs = await eventually(async () => {
      const all = await Promise.all(accepted.map((id) => api.execution(id)));
      return all.every((r) => r.status === 'completed' || r.status === 'failed') && all;
    }, 60_000, 'the last runs to finish');
    assert.deepEqual(runs.filter((r) => r.status !== 'completed').map((r) => [r.executionId, r.status]), []);
    // No step ran again after its success was recorded: every call of a step came before the recorded finish.
    let repeated = 0;
    for (const run of runs) {
      for (const step of run.steps) {
        const hits = flaky.hitTimes.get(`/crash/${run.executionId}/${step.index}`) ?? [];
        assert.ok(hits.length >= 1, `${run.executionId} step ${step.index} ran`);
        const recorded = new Date(step.finishedAt!).getTime();
        assert.deepEqual(hits.filter((h) => h > recorded), [], `${run.executionId} step ${step.index}: no call after its recorded success`);
        repeated += hits.length - 1;
      }
    }

    // The outage in each service's /metrics, and one log line for it, not one per failed try.
    for (const svc of services.filter((s) => s.name === 'scheduler-svc')) {
      const metrics = await (await fetch(`${svc.healthUrl}/metrics`)).text();
      assert.match(metrics, /^wf_dependency_outages_total\{[^}]*dependency="store"[^}]*\} [1-9]/m, 'the outage is counted');
    }
    for (const svc of services) {
      const outageLines = svc.log.split('\n').filter((l) => l.includes('is unreachable; work pauses')).length;
      assert.ok(outageLines <= 2, `${svc.name} logged the outage ${outageLines} times`);
    }

    // From the moment the database accepts connections again (pg_ctl start, crash recovery included, has returned).
    const since = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${((ms - restartedAt.getTime()) / 1000).toFixed(1)} s`);
    // A run that had finished before the crash, but that its lane read only after, does not count.
    const firstFinished = Math.min(...[...seenFinishedAt].filter(([id, at]) => at > restartingAt && !finishedBeforeCrash.has(id)).map(([, at]) => at));
    const caughtFinished = caught.map((id) => seenFinishedAt.get(id));
    const backlogCleared = caught.length === 0 ? undefined : caughtFinished.includes(undefined) ? undefined : Math.max(...(caughtFinished as number[]));
    // Every client served again: each lane has a run accepted after the restart, finished.
    const laneBack = Array.from({ length: LANES }, (_, lane) =>
      Math.min(...[...acceptedAt].filter(([id, a]) => a.lane === lane && a.at > restartingAt && seenFinishedAt.has(id)).map(([id]) => seenFinishedAt.get(id)!)),
    );
    const everyLaneBack = laneBack.every(Number.isFinite) ? Math.max(...laneBack) : undefined;
    t.diagnostic(
      `outage ${((restartingAt - crashedAt) / 1000).toFixed(1)} s, restart (crash recovery) ${((restartedAt.getTime() - restartingAt) / 1000).toFixed(1)} s; ` +
        `after it, as the clients saw it (200 ms polls): first run finished ${since(Number.isFinite(firstFinished) ? firstFinished : undefined)}, ` +
        `backlog of ${caught.length} runs caught by the crash all finished ${caught.length === 0 ? '(none caught)' : since(backlogCleared)}; ` +
        `every lane had a new run accepted and finished ${since(everyLaneBack)}; ` +
        `${accepted.length} runs, ${refusedWith503} answers were 503, ${repeated} step calls repeated (at-least-once, none after a recorded success)`,
    );
  });
});
