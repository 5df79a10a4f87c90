// The durable stack: workflows-svc, scheduler-svc and runner-svc as separate OS processes
// on PostgreSQL and the Kafka broker, driven through the REST API from the bench process.
import { DurableStack } from '../lib/durable-stack.mjs';
import { ApiClient } from '../lib/http-client.mjs';
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

export async function durable(ctx) {
  const stack = await new DurableStack(ctx, 'tp').open();
  let api;
  try {
    // The runner first: it creates the topics and joins the group before work arrives.
    await stack.start('runner-svc');
    await stack.start('scheduler-svc');
    const wf = await stack.start('workflows-svc');
    api = new ApiClient(wf.url);
    await api.signUp();
    const result = await measureThroughput(ctx, api, {
      finished: () => stack.finishedCount(),
      cpuSeconds: () => stack.cpuSeconds(),
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
    });
    await stack.stopAll();
    return {
      processes: 'workflows-svc, scheduler-svc, runner-svc: one OS process each; PostgreSQL; Kafka',
      ...result,
      peakRssMiB: { 'load generator (bench process)': ctx.loadRss.peakMiB(), ...stack.peakRss() },
    };
  } finally {
    api?.close();
    await stack.close();
  }
}
