/*
 * The MongoDB store, on mongoose. What has been exercised: it type-checks against
 * mongoose 9 / driver 7 and implements the same contract as the memory and PostgreSQL
 * stores; the contract suite (shared/test/mongo-store.test.ts) runs it whenever MONGO_URL
 * or MONGOMS_SYSTEM_BINARY is set. No MongoDB server could run where it was written, so
 * it has NOT yet been run against one: treat the first run against a replica set as its
 * first real test.
 */
import type { ClientSession } from 'mongoose';
import { ConflictError, NotFoundError, UnavailableError } from '../../errors.js';
import type { Execution, ExecutionStatus } from '../../domain/execution.js';
import type { OutboxMessage } from '../../domain/outbox.js';
import type { Logger } from '../../logger.js';
import type { Workflow } from '../../domain/workflow.js';
import type { ExecutionRepo, IdempotencyRepo, OutboxRepo, Repos, Store, UserRepo, WorkflowRepo } from '../../ports/repos.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { models, mongoose, type Models } from './models.js';

export interface MongoStoreOptions {
  url: string;
  dbName?: string;
  maxPoolSize?: number;
  logger?: Logger;
}

const CONFLICT_CODES: Record<string, string> = {
  owner_workflow_unique: 'workflow_exists',
  hook_unique: 'hook_conflict',
  email_unique: 'email_taken',
  owner_key_unique: 'idempotency_conflict',
};

function mapError(err: unknown): unknown {
  const e = err as { code?: number; name?: string; message?: string };
  if (e.code === 11000) {
    const index = /index: (\S+)/.exec(e.message ?? '')?.[1] ?? '';
    const code = CONFLICT_CODES[index] ?? 'conflict';
    return new ConflictError(code === 'workflow_exists' ? 'workflow already exists' : code === 'email_taken' ? 'email is already registered' : `conflict on ${index || 'a unique key'}`, undefined, code);
  }
  if (e.name === 'MongoNetworkError' || e.name === 'MongoServerSelectionError' || e.name === 'MongoNotConnectedError') {
    return new UnavailableError('the database is unreachable', err);
  }
  return err;
}

async function wrap<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw mapError(err);
  }
}

/** Strips `_id` (and the outbox's bookkeeping) so callers see exactly the domain shape. */
function plain<T>(doc: unknown, drop: string[] = []): T {
  const { _id, ...rest } = doc as Record<string, unknown>;
  for (const k of drop) delete rest[k];
  return rest as T;
}
const toExecution = (d: unknown) => ({ ...plain<Omit<Execution, 'executionId'>>(d), executionId: String((d as { _id: string })._id) }) as Execution;
const toOutbox = (d: unknown) => ({ ...plain<Omit<OutboxMessage, 'id'>>(d, ['seq', 'published']), id: String((d as { _id: string })._id) }) as OutboxMessage;

function repos(m: Models, session: ClientSession | undefined, nextSeq: () => Promise<number>): Repos {
  const s: { session?: ClientSession } = session ? { session } : {};

  const workflows: WorkflowRepo = {
    create: (wf) => wrap(async () => void (await m.Workflow.create([wf], s))),
    get: (ownerId, workflowId) => wrap(async () => {
      const d = await m.Workflow.findOne({ ownerId, workflowId }, null, s).lean();
      return d ? plain<Workflow>(d) : null;
    }),
    list: (ownerId, page) => wrap(async () => {
      const after = page.cursor ? decodeCursor(page.cursor) : undefined;
      const docs = await m.Workflow.find({ ownerId, ...(after ? { workflowId: { $gt: after } } : {}) }, null, s).sort({ workflowId: 1 }).limit(page.limit + 1).lean();
      const items = docs.slice(0, page.limit).map((d) => plain<Workflow>(d));
      const last = items.at(-1);
      return docs.length > page.limit && last ? { items, nextCursor: encodeCursor(last.workflowId) } : { items };
    }),
    replace: (wf, expectedVersion) => wrap(async () => {
      const { status: _s, leaseUntil: _l, ...definition } = wf.trigger;
      const set: Record<string, unknown> = { name: wf.name, enabled: wf.enabled, actions: wf.actions, retryPolicy: wf.retryPolicy, updatedAt: wf.updatedAt, version: wf.version };
      // trigger.status and trigger.leaseUntil are the runs' state: kept as stored.
      for (const [k, v] of Object.entries(definition)) set[`trigger.${k}`] = v;
      const stale = ['type', 'interval', 'cron', 'timezone', 'nextRunAt', 'hookId', 'secretHash'].filter((k) => !(k in definition));
      const res = await m.Workflow.updateOne(
        { ownerId: wf.ownerId, workflowId: wf.workflowId, version: expectedVersion },
        { $set: set, ...(stale.length ? { $unset: Object.fromEntries(stale.map((k) => [`trigger.${k}`, ''])) } : {}) },
        s,
      );
      if (res.matchedCount) return;
      const current = await m.Workflow.findOne({ ownerId: wf.ownerId, workflowId: wf.workflowId }, { version: 1 }, s).lean();
      if (!current) throw new NotFoundError(`workflow "${wf.workflowId}" not found`);
      throw new ConflictError('workflow was changed concurrently', { currentVersion: current.version }, 'version_conflict');
    }),
    delete: (ownerId, workflowId) => wrap(async () => (await m.Workflow.deleteOne({ ownerId, workflowId }, s)).deletedCount > 0),
    findByHookId: (hookId) => wrap(async () => {
      const d = await m.Workflow.findOne({ 'trigger.hookId': hookId }, null, s).lean();
      return d ? plain<Workflow>(d) : null;
    }),
    setTriggerStatus: (ownerId, workflowId, from, to, at) => wrap(async () => {
      const res = await m.Workflow.updateOne({ ownerId, workflowId, 'trigger.status': { $in: [...from] } }, { $set: { 'trigger.status': to, updatedAt: at } }, s);
      return res.matchedCount > 0;
    }),
    claimDueScheduled: (now, leaseMs, limit) => wrap(async () => {
      // One atomic findOneAndUpdate per workflow: its filter holds the due and lease
      // conditions, so two schedulers can never both take the same one.
      const leaseUntil = new Date(now.getTime() + leaseMs);
      const claimed: Workflow[] = [];
      while (claimed.length < limit) {
        const d = await m.Workflow.findOneAndUpdate(
          { enabled: true, 'trigger.nextRunAt': { $lte: now }, $or: [{ 'trigger.leaseUntil': { $exists: false } }, { 'trigger.leaseUntil': { $lte: now } }] },
          { $set: { 'trigger.leaseUntil': leaseUntil } },
          { ...s, sort: { 'trigger.nextRunAt': 1 }, returnDocument: 'after' },
        ).lean();
        if (!d) break;
        claimed.push(plain<Workflow>(d));
      }
      return claimed;
    }),
    advanceSchedule: (ownerId, workflowId, dueAt, nextRunAt) => wrap(async () => {
      const res = await m.Workflow.updateOne(
        { ownerId, workflowId, 'trigger.nextRunAt': dueAt },
        nextRunAt ? { $set: { 'trigger.nextRunAt': nextRunAt }, $unset: { 'trigger.leaseUntil': '' } } : { $unset: { 'trigger.nextRunAt': '', 'trigger.leaseUntil': '' } },
        s,
      );
      return res.matchedCount > 0;
    }),
  };

  const running = (executionId: string, attempt: number) => ({ _id: executionId, attempt, status: 'running' as const });
  const requeue = async (filter: Record<string, unknown>, sort: Record<string, 1>, update: Record<string, unknown>, limit: number) => {
    const out: Execution[] = [];
    while (out.length < limit) {
      const d = await m.Execution.findOneAndUpdate(filter, update, { ...s, sort, returnDocument: 'after' }).lean();
      if (!d) break;
      out.push(toExecution(d));
    }
    return out;
  };

  const executions: ExecutionRepo = {
    insert: (e) => wrap(async () => {
      const { executionId, ...rest } = e;
      await m.Execution.collection.insertOne({ _id: executionId, ...rest } as never, s.session ? { session: s.session } : {}).catch((err: unknown) => {
        throw (err as { code?: number }).code === 11000 ? new ConflictError(`execution ${executionId} already exists`) : err;
      });
    }),
    get: (executionId) => wrap(async () => {
      const d = await m.Execution.findById(executionId, null, s).lean();
      return d ? toExecution(d) : null;
    }),
    listByWorkflow: (ownerId, workflowId, page) => wrap(async () => {
      const cursor = page.cursor ? decodeCursor(page.cursor) : undefined;
      const split = cursor ? cursor.indexOf(':') : -1;
      const filter: Record<string, unknown> = { ownerId, workflowId };
      if (cursor) {
        const t = new Date(Number(cursor.slice(0, split)));
        const id = cursor.slice(split + 1);
        filter.$or = [{ createdAt: { $lt: t } }, { createdAt: t, _id: { $lt: id } }];
      }
      const docs = await m.Execution.find(filter, null, s).sort({ createdAt: -1, _id: -1 }).limit(page.limit + 1).lean();
      const items = docs.slice(0, page.limit).map(toExecution);
      const last = items.at(-1);
      return docs.length > page.limit && last ? { items, nextCursor: encodeCursor(`${last.createdAt.getTime()}:${last.executionId}`) } : { items };
    }),
    claimForRun: (executionId, attempt, now, leaseMs) => wrap(async () => {
      const d = await m.Execution.findOneAndUpdate(
        { _id: executionId, attempt, $or: [{ status: 'queued' }, { status: 'running', leaseUntil: { $lte: now } }] },
        [{ $set: { status: 'running', leaseUntil: new Date(now.getTime() + leaseMs), updatedAt: now, startedAt: { $ifNull: ['$startedAt', now] } } }],
        { ...s, returnDocument: 'after', updatePipeline: true },
      ).lean();
      return d ? toExecution(d) : null;
    }),
    renewLease: (executionId, attempt, leaseUntil) => wrap(async () => (await m.Execution.updateOne(running(executionId, attempt), { $set: { leaseUntil } }, s)).matchedCount > 0),
    saveStep: (executionId, attempt, step, leaseUntil) => wrap(async () => {
      const at = step.finishedAt ?? step.startedAt;
      const res = await m.Execution.updateOne(running(executionId, attempt), { $set: { [`steps.${step.index}`]: step, leaseUntil, ...(at ? { updatedAt: at } : {}) } }, s);
      return res.matchedCount > 0;
    }),
    finishAttempt: (executionId, attempt, u) => wrap(async () => {
      const finished = u.status === 'completed' || u.status === 'failed';
      const set: Record<string, unknown> = { status: u.status, retriesLeft: u.retriesLeft, updatedAt: u.at };
      const unset: Record<string, ''> = { leaseUntil: '' };
      if (u.nextAttemptAt) set.nextAttemptAt = u.nextAttemptAt;
      else unset.nextAttemptAt = '';
      if (u.error !== undefined) set.error = u.error;
      else unset.error = '';
      if (finished) set.finishedAt = u.at;
      return (await m.Execution.updateOne(running(executionId, attempt), { $set: set, $unset: unset }, s)).matchedCount > 0;
    }),
    requeueDueRetries: (now, limit) =>
      wrap(() => requeue({ status: 'pending_retry', nextAttemptAt: { $lte: now } }, { nextAttemptAt: 1 }, { $set: { status: 'queued', updatedAt: now }, $inc: { attempt: 1 }, $unset: { nextAttemptAt: '' } }, limit)),
    requeueExpiredLeases: (now, limit) =>
      wrap(() => requeue({ status: 'running', leaseUntil: { $lte: now } }, { leaseUntil: 1 }, { $set: { status: 'queued', updatedAt: now }, $unset: { leaseUntil: '' } }, limit)),
    countByStatus: () => wrap(async () => {
      const rows = await m.Execution.aggregate<{ _id: ExecutionStatus; n: number }>([{ $group: { _id: '$status', n: { $sum: 1 } } }]).session(s.session ?? null);
      const counts: Record<ExecutionStatus, number> = { queued: 0, running: 0, pending_retry: 0, completed: 0, failed: 0 };
      for (const r of rows) counts[r._id] = r.n;
      return counts;
    }),
  };

  const outbox: OutboxRepo = {
    add: (msg) => wrap(async () => {
      const { id, ...rest } = msg;
      // `seq` orders messages as added (createdAt comes from writers' clocks); `published` keeps the partial index simple.
      await m.Outbox.collection.insertOne({ _id: id, seq: await nextSeq(), published: false, ...rest } as never, s.session ? { session: s.session } : {}).catch((err: unknown) => {
        throw (err as { code?: number }).code === 11000 ? new ConflictError(`outbox message ${id} already exists`) : err;
      });
    }),
    claimBatch: (now, lockMs, limit) => wrap(async () => {
      const lockedUntil = new Date(now.getTime() + lockMs);
      const out: OutboxMessage[] = [];
      while (out.length < limit) {
        const d = await m.Outbox.findOneAndUpdate(
          { published: false, $or: [{ lockedUntil: { $exists: false } }, { lockedUntil: { $lte: now } }] },
          { $set: { lockedUntil } },
          { ...s, sort: { seq: 1 }, returnDocument: 'after' },
        ).lean();
        if (!d) break;
        out.push(toOutbox(d));
      }
      return out;
    }),
    markPublished: (ids, at) => wrap(async () => void (await m.Outbox.updateMany({ _id: { $in: [...ids] } }, { $set: { published: true, publishedAt: at }, $unset: { lockedUntil: '' } }, s))),
    markFailed: (ids, error) =>
      wrap(async () => void (await m.Outbox.updateMany({ _id: { $in: [...ids] }, published: false }, { $inc: { attempts: 1 }, $set: { lastError: error }, $unset: { lockedUntil: '' } }, s))),
    purgePublished: (before, limit) => wrap(async () => {
      const ids = (await m.Outbox.find({ published: true, publishedAt: { $lt: before } }, { _id: 1 }, s).limit(limit).lean()).map((d) => d._id);
      return ids.length ? (await m.Outbox.deleteMany({ _id: { $in: ids } }, s)).deletedCount : 0;
    }),
    backlog: (now) => wrap(async () => {
      const [count, oldest] = await Promise.all([
        m.Outbox.countDocuments({ published: false }, s),
        m.Outbox.findOne({ published: false }, { createdAt: 1 }, s).sort({ seq: 1 }).lean(),
      ]);
      return { count, oldestAgeMs: oldest?.createdAt ? Math.max(0, now.getTime() - new Date(oldest.createdAt).getTime()) : 0 };
    }),
  };

  const users: UserRepo = {
    create: (u) => wrap(async () => void (await m.User.collection.insertOne({ _id: u.userId, ...u } as never, s.session ? { session: s.session } : {}))),
    findByEmail: (email) => wrap(async () => {
      const d = await m.User.findOne({ email }, null, s).lean();
      return d ? plain(d) : null;
    }),
    findById: (userId) => wrap(async () => {
      const d = await m.User.findById(userId, null, s).lean();
      return d ? plain(d) : null;
    }),
  };

  const idempotency: IdempotencyRepo = {
    find: (ownerId, key, notBefore) => wrap(async () => (await m.Idempotency.findOne({ ownerId, key, createdAt: { $gte: notBefore } }, null, s).lean())?.executionId ?? null),
    put: (ownerId, key, executionId, at, notBefore) => wrap(async () => {
      // Replaces an expired entry; with a live one the filter misses, the upsert hits the unique index: a conflict.
      await m.Idempotency.updateOne({ ownerId, key, createdAt: { $lt: notBefore } }, { $set: { executionId, createdAt: at } }, { ...s, upsert: true }).catch((err: unknown) => {
        throw (err as { code?: number }).code === 11000 ? new ConflictError('idempotency key in use', undefined, 'idempotency_conflict') : err;
      });
    }),
  };

  return { workflows, executions, outbox, users, idempotency };
}

/**
 * The MongoDB store (the default production store). Transactions need a replica set;
 * `uow.run` uses `connection.transaction`, whose driver loop retries transient errors.
 */
export function createMongoStore(options: MongoStoreOptions): Store {
  const conn = mongoose.createConnection(options.url, {
    ...(options.dbName ? { dbName: options.dbName } : {}),
    maxPoolSize: options.maxPoolSize ?? 20,
    serverSelectionTimeoutMS: 5_000,
  });
  const m = models(conn);
  const nextSeq = async () => {
    // Outside any transaction on purpose: a sequence never needs rolling back, only to grow.
    const d = await m.Counter.findOneAndUpdate({ _id: 'outbox' }, { $inc: { value: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
    return d!.value;
  };
  return {
    kind: 'mongo',
    ...repos(m, undefined, nextSeq),
    uow: {
      run: (work) => wrap(() => conn.transaction((session) => work(repos(m, session, nextSeq)))),
    },
    async init() {
      await wrap(async () => {
        await conn.asPromise();
        await Promise.all(Object.values(m).map((model) => model.createIndexes()));
      });
      options.logger?.info('mongo indexes ensured');
    },
    async ping() {
      await wrap(async () => {
        await conn.asPromise();
        await conn.db!.admin().ping();
      });
    },
    async close() {
      await conn.close();
    },
  };
}
