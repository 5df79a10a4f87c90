// Baseline: pg-boss on its own database of the same PostgreSQL server, tuned as issue 14
// measured it: 4 work loops in one worker process, each fetching batches of up to 500 jobs,
// polling every 0.5 s (pg-boss's minimum). Jobs are kept (pg-boss archives them later).
import PgBoss from 'pg-boss';
import pg from 'pg';
import { createDatabase, dropDatabase } from '../lib/infra.mjs';
import { runQueueBaseline } from '../lib/queue-baseline.mjs';
import { sleep } from '../lib/stats.mjs';

const QUEUE = 'log';
export const PGBOSS_LOOPS = 4;
export const PGBOSS_BATCH = 500;
const SEND_OPTIONS = { retryLimit: 3, retryBackoff: true, retryDelay: 1 };

export async function pgboss(ctx) {
  const database = `wf_bench_pgboss_${Date.now().toString(36)}`;
  const url = await createDatabase(database);
  ctx.cleanups.push(() => dropDatabase(database));
  // The submitting side only sends: no maintenance or cron supervision in the bench process.
  const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false, max: 10 });
  boss.on('error', (err) => ctx.log(`pg-boss (submitter): ${err.message}`));
  await boss.start(); // creates the schema
  await boss.createQueue(QUEUE);
  // pg-boss marks a batch completed after its handler returns, one write later than the
  // worker counts it; the timed span ends when the last completion is recorded.
  const reader = new pg.Client({ connectionString: url });
  await reader.connect();
  let expectedCompleted = 0;
  try {
    return await runQueueBaseline(ctx, {
      name: 'pgboss-worker',
      script: 'pgboss-worker.mjs',
      args: [url, QUEUE, String(PGBOSS_LOOPS), String(PGBOSS_BATCH)],
      worker: `separate process, ${PGBOSS_LOOPS} work loops × batch ${PGBOSS_BATCH}, polling 0.5 s`,
      submit: (data) => boss.send(QUEUE, data, SEND_OPTIONS),
      async settled({ submitted }) {
        expectedCompleted += submitted;
        for (let i = 0; i < 600; i++) {
          const { rows } = await reader.query(
            `SELECT count(*)::int AS n, (extract(epoch FROM max(completed_on)) * 1000)::float8 AS last
               FROM pgboss.job WHERE name = $1 AND state = 'completed'`,
            [QUEUE],
          );
          if (rows[0].n >= expectedCompleted) return { lastCompletion: rows[0].last };
          await sleep(50);
        }
        throw new Error(`pg-boss recorded fewer than ${expectedCompleted} completions within 30 s`);
      },
    });
  } finally {
    await reader.end().catch(() => undefined);
    await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
  }
}
