// Baseline: graphile-worker on its own database of the same PostgreSQL server, tuned as
// issue 14 measured it: its local queue (jobs fetched and locked 500 at a time) and job
// completions batched with no delay. It keeps nothing of a finished job (the row is deleted).
import { makeWorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { createDatabase, dropDatabase } from '../lib/infra.mjs';
import { runQueueBaseline } from '../lib/queue-baseline.mjs';

export const GRAPHILE_CONCURRENCY = 50;
export const GRAPHILE_LOCAL_QUEUE = 500;

export async function graphile(ctx) {
  const database = `wf_bench_graphile_${Date.now().toString(36)}`;
  const url = await createDatabase(database);
  ctx.cleanups.push(() => dropDatabase(database));
  // Our own pool, so that it is closed (not left to graphile's release) before the database is dropped.
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', (err) => ctx.log(`graphile-worker (submitter) pool: ${err.message}`));
  // graphile-worker checks that a pool it is given handles its clients' errors too.
  pool.on('connect', (client) => client.on('error', (err) => ctx.log(`graphile-worker (submitter) client: ${err.message}`)));
  const utils = await makeWorkerUtils({ pgPool: pool });
  try {
    await utils.migrate(); // the worker would too; done here so the first submissions do not race it
    return await runQueueBaseline(ctx, {
      name: 'graphile-worker',
      script: 'graphile-worker.mjs',
      args: [url, String(GRAPHILE_CONCURRENCY), String(GRAPHILE_LOCAL_QUEUE)],
      worker: `separate process, concurrency ${GRAPHILE_CONCURRENCY}, local queue ${GRAPHILE_LOCAL_QUEUE}, complete/fail batch delays 0`,
      submit: (data) => utils.addJob('log', data, { maxAttempts: 3 }),
    });
  } finally {
    await utils.release();
    await pool.end();
  }
}
