import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createPostgresStore } from '../src/adapters/postgres/index.js';
import { SCRAPE_SQL } from '../src/adapters/postgres/schema.js';
import type { Store } from '../src/ports/repos.js';
import { postgresTier } from '../src/testing/index.js';

/*
 * A metrics scrape reads no table whole: over a history of finished runs and published
 * messages, the planner answers every query of the scrape from partial indexes or statistics.
 */
const tier = postgresTier();
const schema = `wf_scrape_${process.pid}_${Date.now().toString(36)}`;
const HISTORY = 20_000;

/** Every node of an EXPLAIN (FORMAT JSON) plan, depth first. */
function planNodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

describe('postgres store: the metrics scrape', { skip: tier.skip }, () => {
  let store: Store;
  let client: pg.Client;
  before(async () => {
    store = createPostgresStore({ url: tier.url!, schema });
    await store.init();
    client = new pg.Client({ connectionString: tier.url!, options: `-c search_path=${schema}` });
    await client.connect();
    // A history, and a few runs and messages in flight.
    await client.query(
      `INSERT INTO executions (execution_id, owner_id, workflow_id, workflow_version, actions, retry_policy, trigger, status, attempt, retries_left,
         steps, created_at, updated_at, finished_at, lease_until, next_attempt_at)
       SELECT 'e' || g, 'o', 'w', 1, '[]', '{}', '{"type":"manual","firedAt":"2026-01-01T00:00:00Z"}',
         CASE WHEN g <= 3 THEN 'queued' WHEN g <= 5 THEN 'running' WHEN g <= 6 THEN 'pending_retry' WHEN g <= 10 THEN 'failed' ELSE 'completed' END,
         1, 0, '[]', now(), now(), now(), now(), now()
       FROM generate_series(1, $1::int) g`,
      [HISTORY],
    );
    await client.query(
      `INSERT INTO outbox (id, topic, key, event, created_at, published_at)
       SELECT 'm' || g, 't', 'k', '{}', now(), CASE WHEN g > 7 THEN now() END FROM generate_series(1, $1::int) g`,
      [HISTORY],
    );
    // This session's insert counts reach the statistics now, not after VACUUM has set them.
    await client.query('SELECT pg_stat_force_next_flush()');
    await client.query('VACUUM ANALYZE executions');
    await client.query('VACUUM ANALYZE outbox');
  });
  after(async () => {
    await client?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client?.end();
    await store?.close();
  });

  for (const [name, sql] of Object.entries(SCRAPE_SQL)) {
    it(`plans ${name} without a sequential scan`, async () => {
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(`EXPLAIN (FORMAT JSON) ${sql}`);
      const nodes = planNodes(rows[0]!['QUERY PLAN'][0].Plan);
      const scans = nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']);
      assert.deepEqual(scans, [], JSON.stringify(nodes.map((n) => [n['Node Type'], n['Relation Name'], n['Index Name']])));
    });
  }

  it('counts what is in flight exactly, and the history from the statistics', async () => {
    const counts = await store.executions.countByStatus();
    assert.deepEqual({ ...counts, completed: undefined }, { queued: 3, running: 2, waiting: 0, pending_retry: 1, failed: 4, cancelled: 0, completed: undefined });
    assert.equal(counts.completed, HISTORY - 10, 'VACUUM left the live row count exact');
    assert.equal((await store.outbox.backlog(new Date())).count, 7);
  });
});
