import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mongoose, { type Connection } from 'mongoose';
import type { MongoMemoryReplSet } from 'mongodb-memory-server-core';
import { MAX_ACTIONS } from '../src/domain/workflow.js';
import type { Execution } from '../src/domain/execution.js';
import { UnavailableError } from '../src/errors.js';
import { createMongoStore } from '../src/adapters/mongo/index.js';
import { unavailableOnError } from '../src/adapters/mongo/errors.js';
import { toExecution, toExecutionDoc } from '../src/adapters/mongo/executions.js';
import type { ExecutionDoc } from '../src/adapters/mongo/schema.js';
import { connectionOptions } from '../src/adapters/mongo/store.js';
import { DEFAULT_MAX_STEP_OUTPUT_BYTES } from '../src/adapters/step-bound.js';
import type { Store } from '../src/ports/repos.js';
import { anExecution, aWorkflow, mongoTier } from '../src/testing/index.js';
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

async function openStore(options: { outboxRetentionMs?: number } = {}): Promise<Store> {
  return createMongoStore({ url: await server(), dbName, ...options });
}

const T0 = new Date('2026-01-01T00:00:00Z');
function execution(extra: Partial<Execution> = {}): Execution {
  return anExecution({ workflowId: 'w', ownerId: `owner-${randomUUID()}`, retriesLeft: 0, createdAt: T0, ...extra });
}

/** What the server would give back: the document through the driver's BSON codec, both ways. */
const throughBson = (doc: ExecutionDoc): ExecutionDoc => mongoose.mongo.BSON.deserialize(mongoose.mongo.BSON.serialize(doc)) as ExecutionDoc;

// What needs no server: the documents through the real BSON codec, the connection's options, error mapping.
describe('mongo store: documents, options and errors', () => {
  it('gives user JSON back exactly through BSON: no DBRef, no refused or misread names', () => {
    const userJson = { ref: { $ref: 'users', $id: 42 }, 'a.b': { $set: 1 }, 'nul\u0000key': 'v', zeta: 1, alpha: 2 };
    const e = execution({
      actions: [{ type: 'http-request', url: 'https://example.com/', method: 'POST', headers: { $ref: 'a', $id: 'b' }, body: userJson }],
      trigger: { type: 'webhook', firedAt: T0, payload: userJson },
      steps: [{ index: 0, type: 'http-request', status: 'succeeded', attempt: 1, output: userJson, startedAt: T0, finishedAt: T0 }],
    });
    const read = toExecution(throughBson(toExecutionDoc(e, DEFAULT_MAX_STEP_OUTPUT_BYTES)));
    assert.deepStrictEqual(read, e);
    assert.equal(JSON.stringify(read.trigger.payload), JSON.stringify(userJson), 'key order');
  });

  it('reads executions written before user JSON was stored as text', () => {
    const e = execution({ trigger: { type: 'manual', firedAt: T0, payload: { a: 1 } }, steps: [{ index: 0, type: 'log', status: 'succeeded', output: { message: 'm' } }] });
    const legacy = { ...toExecutionDoc(e, DEFAULT_MAX_STEP_OUTPUT_BYTES), actions: e.actions, trigger: e.trigger, steps: e.steps } as unknown as ExecutionDoc;
    assert.deepStrictEqual(toExecution(throughBson(legacy)), e);
  });

  it('keeps an execution document far under 16 MiB, whatever its steps returned', () => {
    const huge = { body: 'x'.repeat(5 * 1024 * 1024) };
    const steps = Array.from({ length: MAX_ACTIONS }, (_, index) => ({ index, type: 'log' as const, status: 'failed' as const, output: huge, error: huge.body }));
    const doc = toExecutionDoc(execution({ steps, error: 'e' }), DEFAULT_MAX_STEP_OUTPUT_BYTES);
    const size = mongoose.mongo.BSON.calculateObjectSize(doc);
    assert.ok(size < 2 * MAX_ACTIONS * DEFAULT_MAX_STEP_OUTPUT_BYTES + 64 * 1024, `${size} bytes`);
  });

  it('asks a majority to acknowledge every write, whatever the URL says', async () => {
    const conn = mongoose.createConnection('mongodb://127.0.0.1:1/wf?w=1', connectionOptions({ url: 'mongodb://127.0.0.1:1/wf?w=1' }));
    conn.on('error', () => undefined);
    try {
      assert.equal(conn.getClient().writeConcern?.w, 'majority');
    } finally {
      await conn.close();
    }
  });

  it('answers an unknown commit result with UnavailableError (503): the caller retries', async () => {
    const unknownCommit = new mongoose.mongo.MongoServerError({ message: 'operation exceeded time limit', code: 50, errorLabels: ['UnknownTransactionCommitResult'] });
    await assert.rejects(
      unavailableOnError(() => Promise.reject(unknownCommit)),
      (err) => err instanceof UnavailableError && err.status === 503,
    );
    const plain = new mongoose.mongo.MongoServerError({ message: 'bad value', code: 2 });
    await assert.rejects(unavailableOnError(() => Promise.reject(plain)), (err) => err === plain, 'other server errors are left as they are');
  });
});

describeStoreContract('mongo', () => openStore(), { skip: tier.skip });

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

  const indexes = async (name: string) => Object.fromEntries((await collection(name).indexes()).map((i) => [i.name, i]));

  it('creates the indexes init() promises, and no other', async () => {
    const workflows = await indexes('workflows');
    assert.equal(workflows.owner_workflow_unique?.unique, true);
    assert.equal(workflows.hook_unique?.unique, true);
    assert.equal(workflows.hook_unique?.sparse, true);
    assert.deepEqual(workflows.scheduled_due?.partialFilterExpression, { enabled: true, 'trigger.nextRunAt': { $exists: true } });
    const executions = await indexes('executions');
    assert.deepEqual(Object.keys(executions).sort(), ['_id_', 'failed_by_time', 'history', 'queued_since', 'retries_due', 'running_by_lease']);
    assert.deepEqual(executions.history?.key, { ownerId: 1, workflowId: 1, createdAt: -1, _id: -1 });
    assert.deepEqual(executions.retries_due?.partialFilterExpression, { status: 'pending_retry' });
    assert.deepEqual(executions.running_by_lease?.partialFilterExpression, { status: 'running' });
    assert.deepEqual(executions.queued_since?.partialFilterExpression, { status: 'queued' });
    assert.deepEqual(executions.failed_by_time?.partialFilterExpression, { status: 'failed' });
    const outbox = await indexes('outbox');
    assert.deepEqual(Object.keys(outbox).sort(), ['_id_', 'published_ttl', 'unpublished_queue']);
    assert.deepEqual(outbox.unpublished_queue?.key, { published: 1, createdAt: 1, _id: 1 });
    assert.deepEqual(outbox.unpublished_queue?.partialFilterExpression, { published: false });
    assert.equal(typeof outbox.published_ttl?.expireAfterSeconds, 'number');
    assert.equal((await indexes('users')).email_unique?.unique, true);
    const keys = await indexes('idempotency_keys');
    assert.equal(keys.owner_key_unique?.unique, true);
    assert.deepEqual(keys.created_ttl?.key, { createdAt: 1 });
    assert.equal(keys.created_ttl?.expireAfterSeconds, 24 * 3600, 'idempotency keys expire after their window');
  });

  it('drops the indexes an earlier version made and this one no longer uses', async () => {
    await collection('executions').createIndex({ status: 1 }, { name: 'by_status' });
    await collection('outbox').createIndex({ createdAt: 1, _id: 1 }, { partialFilterExpression: { published: false }, name: 'unpublished_by_age' });
    await store.init();
    assert.equal((await indexes('executions')).by_status, undefined);
    assert.equal((await indexes('outbox')).unpublished_by_age, undefined);
  });

  it('makes the outbox TTL follow OUTBOX_RETENTION, changing it in place; a store without a retention leaves it', async () => {
    const ttl = async () => (await indexes('outbox')).published_ttl?.expireAfterSeconds;
    for (const [options, expected] of [
      [{ outboxRetentionMs: 2 * 3600_000 }, 7_200],
      [{ outboxRetentionMs: 90 * 60_000 }, 5_400],
      [{}, 5_400],
    ] as const) {
      const other = await openStore(options);
      try {
        await other.init();
      } finally {
        await other.close();
      }
      assert.equal(await ttl(), expected, JSON.stringify(options));
    }
  });

  /** How many operations on `collectionName` the server's profiler saw while `work` ran. */
  async function operationsOn(collectionName: string, work: () => Promise<unknown>): Promise<number> {
    const db = conn.db!;
    await db.command({ profile: 0 });
    await db.collection('system.profile').drop().catch(() => undefined);
    await db.command({ profile: 2 });
    try {
      await work();
    } finally {
      await db.command({ profile: 0 });
    }
    return db.collection('system.profile').countDocuments({ ns: `${dbName}.${collectionName}` });
  }

  it('claims a batch in three round trips, however many documents it takes', async () => {
    const ownerId = `owner-${randomUUID()}`;
    const past = new Date('1995-01-01T00:00:00Z');
    for (let i = 0; i < 40; i++) {
      await store.outbox.add({ id: randomUUID(), topic: 't', key: ownerId, event: { id: randomUUID(), type: 'ExecutionRequested', version: 1, occurredAt: past.toISOString(), data: { executionId: 'e', workflowId: 'w', ownerId, attempt: 1 } }, createdAt: past, attempts: 0 });
      await store.executions.insert(execution({ ownerId, status: 'pending_retry', nextAttemptAt: past }));
      await store.workflows.create(aWorkflow({ workflowId: `w${i}`, ownerId, name: 'w', trigger: { type: 'periodic', interval: '1s', status: 'idle', nextRunAt: past }, createdAt: past, updatedAt: past }));
    }
    let claimed: { key: string }[] = [];
    assert.ok((await operationsOn('outbox', async () => (claimed = (await store.outbox.claimBatch(60_000, 1_000)).messages))) <= 3);
    assert.equal(claimed.filter((m) => m.key === ownerId).length, 40);
    let requeued: { ownerId: string; executionId: string; attempt: number }[] = [];
    assert.ok((await operationsOn('executions', async () => (requeued = await store.executions.requeueDueRetries(1_000)))) <= 3);
    assert.equal(requeued.filter((e) => e.ownerId === ownerId).length, 40);
    const claims = requeued.filter((e) => e.ownerId === ownerId).map(({ executionId, attempt }) => ({ executionId, attempt }));
    let taken: unknown[] = [];
    assert.ok((await operationsOn('executions', async () => (taken = await store.executions.claimManyForRun(claims, 60_000)))) <= 2, 'claimManyForRun: one update, one read');
    assert.equal(taken.length, 40);
    let due: { ownerId: string }[] = [];
    assert.ok((await operationsOn('workflows', async () => (due = await store.workflows.claimDueScheduled(60_000, 1_000)))) <= 3);
    assert.equal(due.filter((w) => w.ownerId === ownerId).length, 40);
  });

  it('answers the claim queries and the metrics scrape from partial indexes only', async () => {
    const before = { workflows: await indexOps('workflows'), outbox: await indexOps('outbox'), executions: await indexOps('executions') };
    await store.workflows.claimDueScheduled(1_000, 10);
    await store.outbox.claimBatch(1_000, 10);
    await store.executions.requeueDueRetries(10);
    const afterClaims = { workflows: await indexOps('workflows'), outbox: await indexOps('outbox'), executions: await indexOps('executions') };
    await store.executions.countByStatus();
    await store.outbox.backlog(new Date());
    const afterScrape = { outbox: await indexOps('outbox'), executions: await indexOps('executions') };
    const uses = (from: Record<string, number>, to: Record<string, number>, index: string) => (to[index] ?? 0) - (from[index] ?? 0);
    assert.ok(uses(before.workflows, afterClaims.workflows, 'scheduled_due') > 0, 'claimDueScheduled uses scheduled_due');
    assert.ok(uses(before.outbox, afterClaims.outbox, 'unpublished_queue') > 0, 'claimBatch uses unpublished_queue');
    assert.ok(uses(before.executions, afterClaims.executions, 'retries_due') > 0, 'requeueDueRetries uses retries_due');
    for (const index of ['queued_since', 'running_by_lease', 'retries_due', 'failed_by_time']) {
      assert.equal(uses(afterClaims.executions, afterScrape.executions, index), 1, `countByStatus counts on ${index}`);
    }
    assert.equal(uses(afterClaims.outbox, afterScrape.outbox, 'unpublished_queue'), 2, 'backlog counts and finds the oldest on unpublished_queue');
  });

  it('stores user JSON as text, so the server never reads it as BSON', async () => {
    const odd = { 'a.b': 1, $schema: 'https://json-schema.org/draft/2020-12/schema', nested: { $ref: '#/x', $id: 'y' } };
    const e = execution({ trigger: { type: 'webhook', firedAt: T0, payload: odd } });
    await store.executions.insert(e);
    await store.executions.claimForRun(e.executionId, 1, 60_000);
    const step = { index: 0, type: 'log' as const, status: 'succeeded' as const, attempt: 1, output: odd, startedAt: T0, finishedAt: T0 };
    assert.equal(await store.executions.saveStep(e.executionId, 1, step, 60_000), true);
    const raw = await collection('executions').findOne({ _id: e.executionId as unknown as mongoose.mongo.ObjectId });
    assert.equal(typeof raw?.trigger.payload, 'string');
    assert.equal(typeof raw?.steps[0].output, 'string');
    assert.equal(typeof raw?.actions, 'string');
    const read = await store.executions.get(e.executionId);
    assert.deepStrictEqual(read?.trigger.payload, odd);
    assert.deepStrictEqual(read?.steps[0], step);
  });

  it('matches nothing for an undefined key, as the memory store does', async () => {
    const ownerId = `owner-${randomUUID()}`;
    await store.workflows.create(aWorkflow({ workflowId: 'w', ownerId }));
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
