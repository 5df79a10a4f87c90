// The durable stack: workflows-svc, scheduler-svc and runner-svc as separate OS processes
// on PostgreSQL and the Kafka broker, driven through the REST API from the bench process;
// `durable-x2` runs two workflows-svc and two runner-svc processes of the same stack.
import { DurableStack } from '../lib/durable-stack.mjs';
import { ApiClient, httpGet, RoundRobinApi } from '../lib/http-client.mjs';
import { topicPartitions } from '../lib/infra.mjs';
import { round, sleep } from '../lib/stats.mjs';
import { measureThroughput } from '../lib/throughput.mjs';

/** Counters of this run's database (pg_stat_database, pg_stat_user_tables), after the backends flushed them. */
async function postgresStats(stack) {
  await sleep(1_200); // backends report their counters at most once a second
  const db = await stack.query(
    `SELECT xact_commit::bigint AS commits, xact_rollback::bigint AS rollbacks, tup_inserted::bigint AS inserted,
            tup_updated::bigint AS updated, tup_deleted::bigint AS deleted, tup_fetched::bigint AS fetched
       FROM pg_stat_database WHERE datname = current_database()`,
  );
  const tables = await stack.query('SELECT relname, n_tup_ins::bigint AS ins, n_tup_upd::bigint AS upd, n_tup_hot_upd::bigint AS hot FROM pg_stat_user_tables');
  return { db: db.rows[0], tables: Object.fromEntries(tables.rows.map((r) => [r.relname, r])) };
}

/** Per completed run: transactions committed, rows written, and how many updates were HOT (no index writes). */
function dbStatsPerRun(before, after, runs) {
  const per = (a, b) => round((Number(a) - Number(b)) / runs, 2);
  const tables = {};
  for (const [name, t] of Object.entries(after.tables)) {
    const b = before.tables[name] ?? { ins: 0, upd: 0, hot: 0 };
    const upd = Number(t.upd) - Number(b.upd);
    if (Number(t.ins) - Number(b.ins) === 0 && upd === 0) continue;
    tables[name] = { inserts: per(t.ins, b.ins), updates: per(t.upd, b.upd), hotUpdatePct: upd ? round(((Number(t.hot) - Number(b.hot)) / upd) * 100) : null };
  }
  return {
    commits: per(after.db.commits, before.db.commits),
    rowsFetched: per(after.db.fetched, before.db.fetched),
    tables,
    note: 'includes the bench\'s own progress queries (a count every 500 ms)',
  };
}

/**
 * Partitions of the topics the services create here (KAFKA_PARTITIONS, the services' default
 * too). Runners in one consumer group split a topic's partitions, so a topic of one partition
 * would leave the second runner of `durable-x2` idle.
 */
const PARTITIONS = 12;

/** Sum of the samples of the counter `name` (every label) on a service's /metrics; null when it does not answer. */
async function counterSum(url, name) {
  try {
    const { text } = await httpGet(`${url}/metrics`);
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
    return sum;
  } catch {
    return null; // the database has the facts; the split per instance is a bonus
  }
}

/** Starts `count` instances of `service` at once, named `service#1`… when there is more than one. */
function startInstances(stack, service, count) {
  const names = count === 1 ? [service] : Array.from({ length: count }, (_, i) => `${service}#${i + 1}`);
  return Promise.all(names.map((name) => stack.start(service, { name })));
}

/** Throws unless the requests topic has a partition for every runner (else some runners idle and the scenario measures less than it says). */
async function checkPartitions(stack, runners) {
  const counts = await topicPartitions(stack.brokers, [stack.topics.requested]);
  const partitions = counts[stack.topics.requested];
  if (partitions < runners) throw new Error(`${stack.topics.requested} has ${partitions} partition(s) for ${runners} runners: some would idle`);
  return partitions;
}

/**
 * The durable stack's throughput with `apiInstances` workflows-svc processes (the clients'
 * requests spread over them in turn, as a load balancer would) and `instances` runner-svc
 * processes in one consumer group, beside one scheduler-svc.
 */
async function durableThroughput(ctx, { label, instances, apiInstances = instances, overrides = {} }) {
  const stack = await new DurableStack(ctx, label, { KAFKA_PARTITIONS: String(PARTITIONS) }).open();
  let api;
  try {
    const startedAt = Date.now();
    // The runners first: they create the topics and join the group before work arrives.
    const runners = await startInstances(stack, 'runner-svc', instances);
    const partitions = await checkPartitions(stack, runners.length);
    const [, apis] = await Promise.all([stack.start('scheduler-svc'), startInstances(stack, 'workflows-svc', apiInstances)]);
    api = apiInstances === 1 ? new ApiClient(apis[0].url) : new RoundRobinApi(apis.map((p) => p.url));
    await api.signUp();
    ctx.log(`  ${stack.processes.length} processes started in ${round((Date.now() - startedAt) / 1000, 1)} s`);
    const result = await measureThroughput(ctx, api, {
      finished: () => stack.finishedCount(),
      cpuSeconds: () => stack.cpuSeconds(),
      runQueueSeconds: () => stack.runQueueSeconds(),
      pollMs: 500, // a count(*) on executions is not free for the database being measured
      dbStats: () => postgresStats(stack),
      dbStatsPerRun,
      timings: async (ids) => {
        const { rows } = await stack.query(
          `SELECT extract(epoch FROM created_at) * 1000 AS c, extract(epoch FROM started_at) * 1000 AS s,
                  extract(epoch FROM finished_at) * 1000 AS f, status
             FROM executions WHERE execution_id = ANY($1)`,
          [ids],
        );
        return {
          created: rows.map((r) => Number(r.c)),
          started: rows.map((r) => (r.s === null ? NaN : Number(r.s))),
          finished: rows.map((r) => (r.f === null ? NaN : Number(r.f))),
          failed: rows.filter((r) => r.status === 'failed').length,
          missing: ids.length - rows.length,
        };
      },
    }, overrides);
    // Every run of the scenario (warm-up and paced included), per instance: does each take its share?
    const perInstance = async (processes, counter) => Object.fromEntries(await Promise.all(processes.map(async (p) => [p.name, await counterSum(p.url, counter)])));
    const spread = {
      partitions,
      attemptsPerRunner: await perInstance(runners, 'wf_execution_attempts_total'),
      acceptedPerApi: await perInstance(apis, 'wf_executions_accepted_total'),
    };
    const stoppingAt = Date.now();
    await stack.stopAll();
    ctx.log(`  stopped in ${round((Date.now() - stoppingAt) / 1000, 1)} s`);
    return {
      processes: `workflows-svc ×${instances}, scheduler-svc ×1, runner-svc ×${instances} (one consumer group): one OS process each; PostgreSQL; Kafka (${partitions} partitions)`,
      ...result,
      spread,
      peakRssMiB: { 'load generator (bench process)': ctx.loadRss.peakMiB(), ...stack.peakRss() },
    };
  } finally {
    api?.close();
    await stack.close();
  }
}

export const durable = (ctx) => durableThroughput(ctx, { label: 'tp', instances: 1 });

/**
 * Scale-out on one machine (issue 14 item 5): two workflows-svc and two runners against the
 * same servers. In --quick mode (CI: does the harness still run) without the paced phase,
 * which `durable` already measures, and with half the time cap, to add little to CI's time.
 */
export const durableX2 = (ctx) =>
  durableThroughput(ctx, { label: 'tp2', instances: 2, overrides: ctx.opts.quick ? { pacedSeconds: 0, maxSeconds: Math.max(1, Math.round(ctx.opts.maxSeconds / 2)) } : {} });

/** Which half of durable-x2 moves the figure (not in the default set): two workflows-svc and one runner… */
export const durableApi2 = (ctx) => durableThroughput(ctx, { label: 'tpa', instances: 1, apiInstances: 2 });
/** …or one workflows-svc and two runners. */
export const durableRun2 = (ctx) => durableThroughput(ctx, { label: 'tpr', instances: 2, apiInstances: 1 });
