import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_TOPICS, GroupCommit, type Store } from '@wf/shared';
import { createPostgresStore } from '@wf/shared/postgres';
import { aWorkflow, dropSchemas, FakeClock, postgresTier, uniqueSchemaName } from '@wf/shared/testing';
import { TriggerWorkflow } from '../../src/app/trigger-workflow.js';

/*
 * What only a store with real concurrency shows: requests that race inside the database. The
 * memory store serializes units of work, so there the same requests cannot overlap at all.
 */
const tier = postgresTier();
const schema = uniqueSchemaName('wf_trigger');

describe('TriggerWorkflow on PostgreSQL', { skip: tier.skip }, () => {
  let store: Store;
  before(async () => {
    store = createPostgresStore({ url: tier.url!, schema });
    await store.init();
  });
  after(async () => {
    await store?.close();
    await dropSchemas(tier.url!, schema);
  });

  test('simultaneous requests with the same Idempotency-Key all get the one run, none a 409', async () => {
    const clock = new FakeClock('2026-02-01T10:00:00.000Z');
    // As wired in production: concurrent triggers share transactions only when others are in flight.
    const useCase = new TriggerWorkflow(new GroupCommit(store), clock, DEFAULT_TOPICS);
    for (const [round, concurrent] of [2, 8].entries()) {
      const workflowId = `w${round}`;
      await store.workflows.create(aWorkflow({ workflowId }));
      const target = { kind: 'owned', ownerId: 'owner-1', workflowId } as const;
      const results = await Promise.allSettled(Array.from({ length: concurrent }, () => useCase.execute({ target, idempotencyKey: `key-${round}` })));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      assert.deepEqual(refused, [], 'no request is refused');
      const answers = results.map((r) => (r as PromiseFulfilledResult<{ executionId: string; replayed: boolean }>).value);
      assert.equal(new Set(answers.map((a) => a.executionId)).size, 1, 'every request names the same run');
      assert.equal(answers.filter((a) => !a.replayed).length, 1, 'one request created it, the others replayed it');
      const runs = await store.executions.listByWorkflow('owner-1', workflowId, { limit: 10 });
      assert.deepEqual(runs.items.map((e) => e.executionId), [answers[0]!.executionId]);
    }
  });
});
