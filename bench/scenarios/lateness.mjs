// Scheduler lateness: N periodic workflows due every 10 s, first due times spread evenly
// over one interval, two scheduler-svc processes on one PostgreSQL database and a runner
// (so workflows return to idle). Everything is read back from PostgreSQL afterwards.
import { DEFAULT_RETRY_POLICY } from '@wf/shared';
import { createPostgresStore } from '@wf/shared/postgres';
import { DurableStack } from '../lib/durable-stack.mjs';
import { httpGet } from '../lib/http-client.mjs';
import { lanes } from '../lib/load.mjs';
import { round, sleep, summarize } from '../lib/stats.mjs';

const INTERVAL = '10s';
const INTERVAL_MS = 10_000;
const OWNER = 'bench-lateness';

/** Sums of `wf_scheduled_runs_total` by outcome from a scheduler's /metrics. */
async function scheduledRuns(url) {
  const out = {};
  try {
    const { text } = await httpGet(`${url}/metrics`);
    for (const m of text.matchAll(/^wf_scheduled_runs_total\{[^}]*outcome="([^"]+)"[^}]*\} (\S+)$/gm)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  } catch {
    // metrics are a bonus; the database has the facts
  }
  return out;
}

export async function lateness(ctx) {
  const { opts, log } = ctx;
  const n = opts.latenessWorkflows;
  const tick = opts.schedulerTick ?? '5s'; // scheduler-svc's default SCHEDULER_TICK
  const tickMs = Number(/^(\d+)s$/.exec(tick)?.[1] ?? 5) * 1000;
  const stack = await new DurableStack(ctx, 'late', opts.schedulerTick ? { SCHEDULER_TICK: opts.schedulerTick } : {}).open();
  let store;
  try {
    await stack.start('runner-svc');
    const schedulers = [await stack.start('scheduler-svc', { name: 'scheduler-svc#1' }), await stack.start('scheduler-svc', { name: 'scheduler-svc#2' })];

    // Created through the store's repository API (createPostgresStore), not the REST API:
    // 10,000 sign-up-free inserts in a few seconds, exactly the rows the API would write.
    store = createPostgresStore({ url: stack.databaseUrl, poolSize: 16 });
    await store.init();
    const createStart = Date.now();
    const t0 = createStart + 1_500 + n; // first due time: after the inserts (well under 1 ms each, 16 at once)
    const firstDue = (i) => t0 + Math.floor((i * INTERVAL_MS) / n);
    let createdLate = 0;
    await lanes(16, n, async (i) => {
      const now = new Date();
      await store.workflows.create({
        workflowId: `p${i}`,
        ownerId: OWNER,
        name: `periodic ${i}`,
        enabled: true,
        trigger: { type: 'periodic', interval: INTERVAL, status: 'idle', nextRunAt: new Date(firstDue(i)) },
        actions: [{ type: 'log', message: 'tick {{execution.id}}' }],
        retryPolicy: DEFAULT_RETRY_POLICY,
        createdAt: now,
        updatedAt: now,
        version: 1,
      });
      if (Date.now() > firstDue(i)) createdLate += 1;
    });
    log(`  ${n} periodic workflows created in ${round((Date.now() - createStart) / 1000, 1)} s${createdLate ? ` (${createdLate} after their first due time)` : ''}`);

    // Due times in [t0, windowEnd) are measured; then one tick and a margin for the last ones.
    const windowEnd = t0 + opts.latenessSeconds * 1000;
    await sleep(Math.max(0, windowEnd - Date.now()) + tickMs + 1_500);
    const metrics = await Promise.all(schedulers.map((s) => scheduledRuns(s.url)));
    for (const s of schedulers) await s.stop();

    const { rows } = await stack.query(
      `SELECT workflow_id, status,
              (extract(epoch FROM (trigger->>'scheduledFor')::timestamptz) * 1000)::bigint AS due,
              (extract(epoch FROM (trigger->>'firedAt')::timestamptz) * 1000)::bigint AS fired
         FROM executions WHERE owner_id = $1`,
      [OWNER],
    );
    const seen = new Map();
    let emittedTwice = 0;
    const late = [];
    for (const r of rows) {
      const key = `${r.workflow_id}@${r.due}`;
      const count = (seen.get(key) ?? 0) + 1;
      seen.set(key, count);
      if (count === 2) emittedTwice += 1;
      if (Number(r.due) < windowEnd) late.push(Number(r.fired) - Number(r.due));
    }
    let expected = 0;
    let missed = 0;
    for (let i = 0; i < n; i++) {
      for (let due = firstDue(i); due < windowEnd; due += INTERVAL_MS) {
        expected += 1;
        if (!seen.has(`p${i}@${due}`)) missed += 1;
      }
    }
    const unfinished = rows.filter((r) => r.status !== 'completed' && r.status !== 'failed').length;
    const sum = (k) => metrics.reduce((a, m) => a + (m[k] ?? 0), 0);
    await stack.stopAll();
    return {
      workflows: n,
      interval: INTERVAL,
      seconds: opts.latenessSeconds,
      schedulers: 2,
      tick,
      setup: 'workflows created through createPostgresStore(...).workflows.create, not the REST API',
      createdLate,
      expected,
      emitted: late.length,
      missed,
      emittedTwice,
      unfinishedAtEnd: unfinished,
      skippedBusy: metrics.some((m) => Object.keys(m).length) ? sum('skipped_busy') : null,
      schedulerMetrics: metrics,
      latenessMs: summarize(late, 0),
      peakRssMiB: stack.peakRss(),
    };
  } finally {
    await store?.close().catch(() => undefined);
    await stack.close();
  }
}
