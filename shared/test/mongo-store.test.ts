import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mongoose, { type Connection } from 'mongoose';
import type { MongoMemoryReplSet } from 'mongodb-memory-server-core';
import { DEFAULT_RETRY_POLICY } from '../src/domain/workflow.js';
import type { Execution } from '../src/domain/execution.js';
import { createMongoStore } from '../src/adapters/mongo/index.js';
import type { Store } from '../src/ports/repos.js';
import { mongoTier } from '../src/testing/index.js';
import { describeStoreContract } from './contract/store-contract.js';

/*
 * The store contract against MongoDB, then what only MongoDB has (indexes, query plans, field
 * names). The server is MONGO_URL (a replica set), or else a one-member replica set of the
 * mongod at MONGOMS_SYSTEM_BINARY (transactions need a replica set). The run uses a database
 * of its own and drops it at the end. With neither variable both suites are skipped, with a
 * message naming them.
 */
const tier = mongoTier();
const dbName = `wf_contract_${Date.now().toString(36)}_${process.pid}`;
let replSet: MongoMemoryReplSet | undefined;
let serverUrl: Promise<string> | undefined;

function server(): Promise<string> {
  serverUrl ??= (async () => {
    if (tier.url && tier.url !== 'memory-server') return tier.url;
    const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
    replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
    return replSet.getUri();
  })();
  return serverUrl;
}

async function openStore(): Promise<Store> {
  return createMongoStore({ url: await server(), dbName });
}

describeStoreContract('mongo', openStore, { skip: tier.skip });

describe('mongo store: what only MongoDB has', { skip: tier.skip }, () => {
  let store: Store;
  let conn: Connection;
  before(async () => {
    store = await openStore();
    await store.init();
    conn = await mongoose.createConnection(await server(), { dbName }).asPromise();
  });
  after(async () => {
    await store?.close();
    await conn?.close();
  });

  const collection = (name: string) => conn.db!.collection(name);
  const indexOps = async (name: string): Promise<Record<string, number>> => {
    const stats = await collection(name).aggregate<{ name: string; accesses: { ops: number } }>([{ $indexStats: {} }]).toArray();
    return Object.fromEntries(stats.map((s) => [s.name, Number(s.accesses.ops)]));
  };

  it('creates the indexes init() promises', async () => {
    const indexes = async (name: string) => Object.fromEntries((await collection(name).indexes()).map((i) => [i.name, i]));
    const workflows = await indexes('workflows');
    assert.equal(workflows.owner_workflow_unique?.unique, true);
    assert.equal(workflows.hook_unique?.unique, true);
    assert.equal(workflows.hook_unique?.sparse, true);
    assert.deepEqual(workflows.scheduled_due?.partialFilterExpression, { enabled: true, 'trigger.nextRunAt': { $exists: true } });
    const executions = await indexes('executions');
    assert.deepEqual(executions.history?.key, { ownerId: 1, workflowId: 1, createdAt: -1, _id: -1 });
    assert.deepEqual(executions.retries_due?.partialFilterExpression, { status: 'pending_retry' });
    assert.deepEqual(executions.running_by_lease?.partialFilterExpression, { status: 'running' });
    const outbox = await indexes('outbox');
    assert.deepEqual(outbox.unpublished_by_age?.partialFilterExpression, { published: false });
    assert.equal(typeof outbox.published_ttl?.expireAfterSeconds, 'number');
    assert.equal((await indexes('users')).email_unique?.unique, true);
    assert.equal((await indexes('idempotency_keys')).owner_key_unique?.unique, true);
  });

  it('answers the claim queries from their partial indexes', async () => {
    const before = { workflows: await indexOps('workflows'), outbox: await indexOps('outbox'), executions: await indexOps('executions') };
    await store.workflows.claimDueScheduled(new Date('1990-01-01T00:00:00Z'), 1_000, 10);
    await store.outbox.claimBatch(new Date('1990-01-01T00:00:00Z'), 1_000, 10);
    await store.executions.requeueDueRetries(new Date('1990-01-01T00:00:00Z'), 10);
    const after = { workflows: await indexOps('workflows'), outbox: await indexOps('outbox'), executions: await indexOps('executions') };
    const used = (c: keyof typeof before, index: string) => (after[c][index] ?? 0) > (before[c][index] ?? 0);
    assert.ok(used('workflows', 'scheduled_due'), 'claimDueScheduled uses scheduled_due');
    assert.ok(used('outbox', 'unpublished_by_age'), 'claimBatch uses unpublished_by_age');
    assert.ok(used('executions', 'retries_due') || used('executions', 'by_status'), 'requeueDueRetries uses an index');
  });

  it('keeps field names with dots and dollars (webhook payloads, HTTP bodies), on insert and on saveStep', async () => {
    const T0 = new Date('2026-01-01T00:00:00Z');
    const odd = { 'a.b': 1, $schema: 'https://json-schema.org/draft/2020-12/schema', nested: { $ref: '#/x' } };
    const execution: Execution = {
      executionId: randomUUID(),
      workflowId: 'w',
      ownerId: `owner-${randomUUID()}`,
      workflowVersion: 1,
      actions: [{ type: 'log', message: 'm' }],
      retryPolicy: DEFAULT_RETRY_POLICY,
      trigger: { type: 'webhook', firedAt: T0, payload: odd },
      status: 'queued',
      attempt: 1,
      retriesLeft: 0,
      steps: [{ index: 0, type: 'log', status: 'pending' }],
      createdAt: T0,
      updatedAt: T0,
    };
    await store.executions.insert(execution);
    await store.executions.claimForRun(execution.executionId, 1, T0, 60_000);
    const step = { index: 0, type: 'log' as const, status: 'succeeded' as const, attempt: 1, output: odd, startedAt: T0, finishedAt: T0 };
    assert.equal(await store.executions.saveStep(execution.executionId, 1, step, T0), true);
    const read = await store.executions.get(execution.executionId);
    assert.deepEqual(read?.trigger.payload, odd);
    assert.deepEqual(read?.steps[0], step);
  });

  it('matches nothing for an undefined key, as the memory store does', async () => {
    const ownerId = `owner-${randomUUID()}`;
    const T0 = new Date('2026-01-01T00:00:00Z');
    await store.workflows.create({
      workflowId: 'w',
      ownerId,
      name: 'w',
      enabled: true,
      trigger: { type: 'manual', status: 'idle' },
      actions: [{ type: 'log', message: 'm' }],
      retryPolicy: DEFAULT_RETRY_POLICY,
      createdAt: T0,
      updatedAt: T0,
      version: 1,
    });
    const missing = undefined as unknown as string;
    assert.equal(await store.workflows.get(missing, 'w'), null);
    assert.deepEqual((await store.workflows.list(missing, { limit: 10 })).items, []);
  });
});

after(async () => {
  const url = await serverUrl?.catch(() => undefined);
  if (url) {
    const conn = await mongoose.createConnection(url, { dbName }).asPromise();
    try {
      await conn.dropDatabase();
    } finally {
      await conn.close();
    }
  }
  await replSet?.stop();
});
