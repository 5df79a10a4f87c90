import { randomUUID } from 'node:crypto';
import type { ClientSession, Model, QueryFilter, UpdateQuery } from 'mongoose';
import { ConflictError, NotFoundError } from '../../errors.js';
import { CANCELLED_STEP_ERROR, FINISHED_STATUSES, RESUMABLE_STATUSES, type Execution, type ExecutionStatus, type Step } from '../../domain/execution.js';
import { emptyStatusCounts, type StatusCounts } from '../../domain/run-stats.js';
import { TRIGGER_SPEC_FIELDS, type StoredTrigger } from '../../domain/workflow.js';
import type { ExecutionRepo, IdempotencyRepo, OutboxRepo, Repos, SecretRepo, UserRepo, WorkflowRepo } from '../../ports/repos.js';
import type { SecretInfo } from '../../domain/secret.js';
import { decodeCursor, decodeExecutionCursor, executionSortKey, toPage } from '../cursor.js';
import { relayByLock } from '../relay-by-lock.js';
import { boundError } from '../step-bound.js';
import { collidedOn, duplicateKey, throwIfDuplicate } from './errors.js';
import {
  INDEX,
  toExecution,
  toExecutionDoc,
  toStepDoc,
  toOutbox,
  toOutboxDoc,
  toUser,
  toUserDoc,
  toWorkflow,
  toWorkflowDoc,
  type ExecutionDoc,
  type IdempotencyDoc,
  type Models,
  type OutboxDoc,
  type SecretDoc,
  type UserDoc,
  type WorkflowDoc,
} from './models.js';

/** "Absent, or not after `now`": how the memory store reads an optional lease or due time. */
const notAfter = (now: Date) => ({ $not: { $gt: now } });

type SessionOption = { session?: ClientSession };

/**
 * Claims up to `limit` documents in three round trips, whatever the batch size (rather than one
 * findOneAndUpdate per document, each rescanning the index past those already taken): reads the ids
 * of the first candidates in `sort` order, updates those that still match `filter` (MongoDB
 * re-checks the filter on each document as it writes it, so of two concurrent claimers only
 * one takes a document) stamping them with a token of this claim, then reads back the ones that
 * carry the token, in candidate order. A candidate taken by someone else in between is left out.
 * The token stays on the documents until another claim takes them (the outbox uses it as its lock token).
 */
async function claimInBatch<D extends { _id: unknown; claimToken?: string }>(
  model: Model<D>,
  query: { filter: QueryFilter<D>; sort: Record<string, 1 | -1>; limit: number },
  update: UpdateQuery<D>,
  opts: SessionOption,
  claimToken: string = randomUUID(),
): Promise<D[]> {
  if (query.limit <= 0) return []; // a MongoDB limit of 0 means "no limit"
  // batchSize: the whole batch in the first reply (up to 16 MiB), not 101 documents and a getMore.
  const candidates = await model.find(query.filter, { _id: 1 }, opts).sort(query.sort).limit(query.limit).batchSize(query.limit).lean<Pick<D, '_id'>[]>();
  if (candidates.length === 0) return [];
  const ids = candidates.map((c) => c._id);
  const taken = { $and: [query.filter, { _id: { $in: ids } }] } as QueryFilter<D>;
  await model.updateMany(taken, { ...update, $set: { ...update.$set, claimToken } }, opts);
  const docs = await model.find({ _id: { $in: ids }, claimToken } as QueryFilter<D>, null, opts).batchSize(ids.length).lean<D[]>();
  const byId = new Map(docs.map((d) => [String(d._id), d]));
  return ids.flatMap((id) => byId.get(String(id)) ?? []);
}

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
type TriggerDefinitionField = Exclude<KeysOfUnion<StoredTrigger>, 'status' | 'executionId' | 'leaseUntil'>;
/** Every trigger field a replace writes: all but the runs' own state (the compiler checks the list). */
const TRIGGER_DEFINITION: Record<TriggerDefinitionField, true> = {
  type: true,
  interval: true,
  cron: true,
  timezone: true,
  catchUp: true,
  nextRunAt: true,
  hookId: true,
  secretHash: true,
  overlap: true,
};

/** The code every store gives a hook id collision. */
const hookInUse = () => new ConflictError('hook id already in use', undefined, 'hook_conflict');

/** What countByStatus counts exactly, each on a partial index (models.ts): all but `completed` (the compiler checks the list). */
const COUNTED: Record<Exclude<ExecutionStatus, 'completed'>, true> = { queued: true, running: true, waiting: true, pending_retry: true, failed: true, cancelled: true };

/**
 * The five repositories over `models`. With a `session` every operation runs in that
 * session's transaction; without one, each operation stands alone. Errors other than
 * duplicate keys are left as the driver threw them: inside a transaction `withTransaction`
 * needs their labels to decide on a retry, and the store maps them at its boundary.
 *
 * `serverNow` is store time (see ports/repos.ts): each operation that judges or sets a lease,
 * lock or due time reads it once and uses it as a constant. Not `$$NOW`: the claims' range
 * filters must bound their partial indexes, which `$expr` does not do, and saveStep sets an
 * array element, which an update pipeline cannot express. The cost is one `hello` round trip
 * per such operation, and the time read is that much older than the write: leases end that
 * much sooner, by milliseconds against margins of seconds.
 */
export function createRepos(
  m: Models,
  limits: { maxStepOutputBytes: number },
  serverNow: () => Promise<Date>,
  session?: ClientSession,
  /** Runs `work` in a transaction of its own: how a write made of several stands alone without a session. */
  transaction?: <T>(work: (repos: Repos) => Promise<T>) => Promise<T>,
): Repos {
  const opts: SessionOption = session ? { session } : {};
  const claim = { ...opts, returnDocument: 'after' as const };
  const stepDoc = (step: Step) => toStepDoc(step, limits.maxStepOutputBytes);
  /** A lease or lock of `ms` from store time. */
  const leaseFrom = async (ms: number) => new Date((await serverNow()).getTime() + ms);

  const workflows: WorkflowRepo = {
    async create(wf) {
      await throwIfDuplicate(
        () => m.Workflow.insertOne(toWorkflowDoc(wf), opts),
        (dup) => (collidedOn(dup, INDEX.hookId, 'trigger.hookId') ? hookInUse() : new ConflictError(`workflow "${wf.workflowId}" already exists`, undefined, 'workflow_exists')),
      );
    },
    async get(ownerId, workflowId) {
      const doc = await m.Workflow.findOne({ ownerId, workflowId }, null, opts).lean<WorkflowDoc>();
      return doc ? toWorkflow(doc) : null;
    },
    async list(ownerId, page, idPrefix) {
      const after = page.cursor ? decodeCursor(page.cursor) : undefined;
      // An anchored, case-sensitive regex is a range scan of the (ownerId, workflowId) index.
      const workflowId = {
        ...(after === undefined ? {} : { $gt: after }),
        ...(idPrefix === undefined ? {} : { $regex: `^${idPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` }),
      };
      const filter = Object.keys(workflowId).length ? { ownerId, workflowId } : { ownerId };
      const docs = await m.Workflow.find(filter, null, opts).sort({ workflowId: 1 }).limit(page.limit + 1).lean<WorkflowDoc[]>();
      return toPage(docs.map(toWorkflow), page.limit, (w) => w.workflowId);
    },
    async replace(wf, expectedVersion) {
      const { ownerId, workflowId, trigger, ...definition } = toWorkflowDoc(wf);
      const given = trigger as Partial<Record<TriggerDefinitionField, unknown>>;
      // Field by field, so trigger.status, .executionId and .leaseUntil stay as stored: they belong to the runs.
      const update = (fields: TriggerDefinitionField[]) => {
        const $set: Record<string, unknown> = { ...definition };
        const $unset: Record<string, ''> = {};
        if (definition.retention === undefined) $unset.retention = '';
        for (const field of fields) {
          if (given[field] === undefined) $unset[`trigger.${field}`] = '';
          else $set[`trigger.${field}`] = given[field];
        }
        return { $set, $unset };
      };
      const definitionFields = Object.keys(TRIGGER_DEFINITION) as TriggerDefinitionField[];
      const stored = { ownerId, workflowId, version: expectedVersion };
      // While the schedule stays the same, nextRunAt stays as stored too: the scheduler advances it
      // without a version bump, so the copy given may predate it. The spec only changes with the
      // version, so if this first write misses on the spec alone, the second finds a new schedule.
      // (`null` matches an absent field.)
      const sameSpec = Object.fromEntries(TRIGGER_SPEC_FIELDS.map((field) => [`trigger.${field}`, given[field] ?? null]));
      let result = await throwIfDuplicate(
        () => m.Workflow.updateOne({ ...stored, ...sameSpec }, update(definitionFields.filter((f) => f !== 'nextRunAt')), opts),
        hookInUse,
      );
      if (result.matchedCount === 0) result = await throwIfDuplicate(() => m.Workflow.updateOne(stored, update(definitionFields), opts), hookInUse);
      if (result.matchedCount > 0) return;
      const current = await m.Workflow.findOne({ ownerId, workflowId }, { version: 1 }, opts).lean<Pick<WorkflowDoc, 'version'>>();
      if (!current) throw new NotFoundError(`workflow "${workflowId}" not found`);
      throw new ConflictError('workflow was changed concurrently', { currentVersion: current.version }, 'version_conflict');
    },
    async delete(ownerId, workflowId) {
      return (await m.Workflow.deleteOne({ ownerId, workflowId }, opts)).deletedCount > 0;
    },
    async findByHookId(hookId) {
      const doc = await m.Workflow.findOne({ 'trigger.hookId': hookId }, null, opts).lean<WorkflowDoc>();
      return doc ? toWorkflow(doc) : null;
    },
    async setTriggerStatus(ownerId, workflowId, executionId, from, to, at) {
      const result = await m.Workflow.updateOne(
        // Free (no holder: `null` matches an absent field) or held by this run.
        { ownerId, workflowId, 'trigger.status': { $in: [...from] }, 'trigger.executionId': { $in: [executionId, null] } },
        to === 'idle'
          ? { $set: { 'trigger.status': to, updatedAt: at }, $unset: { 'trigger.executionId': '' } }
          : { $set: { 'trigger.status': to, 'trigger.executionId': executionId, updatedAt: at } },
        opts,
      );
      return result.matchedCount > 0;
    },
    async acceptRun(execution, request, expectedVersion) {
      // Three writes: atomic in the caller's transaction, or else in one of their own.
      if (!session) {
        if (!transaction) throw new Error('acceptRun outside a unit of work needs a transaction runner');
        return transaction((tx) => tx.workflows.acceptRun(execution, request, expectedVersion));
      }
      const { ownerId, workflowId, executionId, createdAt } = execution;
      const result = await m.Workflow.updateOne(
        {
          ownerId,
          workflowId,
          'trigger.status': 'idle',
          'trigger.executionId': { $in: [executionId, null] },
          ...(expectedVersion === undefined ? {} : { version: expectedVersion }),
        },
        { $set: { 'trigger.status': 'busy', 'trigger.executionId': executionId, updatedAt: createdAt } },
        opts,
      );
      if (result.matchedCount === 0) return false;
      await executions.insert(execution);
      await outbox.add(request);
      return true;
    },
    async claimDueScheduled(leaseMs, limit) {
      const now = await serverNow();
      const claimed = await claimInBatch(
        m.Workflow,
        {
          // `$exists` repeats the partial index's filter so the planner can use it.
          filter: { enabled: true, 'trigger.nextRunAt': { $exists: true, $lte: now }, 'trigger.leaseUntil': notAfter(now) },
          sort: { 'trigger.nextRunAt': 1 },
          limit,
        },
        { $set: { 'trigger.leaseUntil': new Date(now.getTime() + leaseMs) } },
        opts,
      );
      return claimed.map(toWorkflow);
    },
    async nextDueAt(after) {
      const doc = await m.Workflow.findOne({ enabled: true, 'trigger.nextRunAt': { $exists: true, $gt: after } }, { 'trigger.nextRunAt': 1 }, opts)
        .sort({ 'trigger.nextRunAt': 1 })
        .lean<Pick<WorkflowDoc, 'trigger'>>();
      return doc?.trigger.nextRunAt ?? null;
    },
    async withRunLimit(after, limit) {
      if (limit <= 0) return [];
      const past = after
        ? { $or: [{ ownerId: { $gt: after.ownerId } }, { ownerId: after.ownerId, workflowId: { $gt: after.workflowId } }] }
        : {};
      const docs = await m.Workflow.find({ 'retention.maxRuns': { $exists: true }, ...past }, { ownerId: 1, workflowId: 1, retention: 1 }, opts)
        .sort({ ownerId: 1, workflowId: 1 })
        .limit(limit)
        .lean<Pick<WorkflowDoc, 'ownerId' | 'workflowId' | 'retention'>[]>();
      return docs.map((d) => ({ ownerId: d.ownerId, workflowId: d.workflowId, maxRuns: d.retention!.maxRuns }));
    },
    async advanceSchedule(ownerId, workflowId, dueAt, nextRunAt) {
      const result = await m.Workflow.updateOne(
        { ownerId, workflowId, 'trigger.nextRunAt': dueAt },
        nextRunAt
          ? { $set: { 'trigger.nextRunAt': nextRunAt }, $unset: { 'trigger.leaseUntil': '' } }
          : { $unset: { 'trigger.nextRunAt': '', 'trigger.leaseUntil': '' } },
        opts,
      );
      return result.matchedCount > 0;
    },
  };

  /** The compare-and-set condition of every write a runner makes: still running on its attempt. */
  const running = (executionId: string, attempt: number) => ({ _id: executionId, attempt, status: 'running' as const });

  const listRuns: ExecutionRepo['listRuns'] = async (ownerId, filter, page) => {
    const after = page.cursor ? decodeExecutionCursor(page.cursor) : undefined;
    const createdAt = {
      ...(filter.createdFrom ? { $gte: filter.createdFrom } : {}),
      ...(filter.createdBefore ? { $lt: filter.createdBefore } : {}),
    };
    const conditions: Record<string, unknown>[] = [
      {
        ownerId,
        ...(filter.workflowId === undefined ? {} : { workflowId: filter.workflowId }),
        ...(filter.statuses ? { status: { $in: [...filter.statuses] } } : {}),
        ...(Object.keys(createdAt).length ? { createdAt } : {}),
      },
    ];
    if (after) conditions.push({ $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.executionId } }] });
    const docs = await m.Execution.find(conditions.length === 1 ? conditions[0]! : { $and: conditions }, null, opts)
      .sort({ createdAt: -1, _id: -1 })
      .limit(page.limit + 1)
      .lean<ExecutionDoc[]>();
    return toPage(docs.map(toExecution), page.limit, executionSortKey);
  };

  const executions: ExecutionRepo = {
    async insert(e) {
      await throwIfDuplicate(
        () => m.Execution.insertOne(toExecutionDoc(e, limits.maxStepOutputBytes), opts),
        () => new ConflictError(`execution ${e.executionId} already exists`),
      );
    },
    async get(executionId) {
      const doc = await m.Execution.findOne({ _id: executionId }, null, opts).lean<ExecutionDoc>();
      return doc ? toExecution(doc) : null;
    },
    async listByWorkflow(ownerId, workflowId, page) {
      return listRuns(ownerId, { workflowId }, page);
    },
    listRuns,
    async recentRuns(ownerId, workflowIds, perWorkflow) {
      // One bounded read per workflow off the history index, rather than one read of all their runs.
      const lists = await Promise.all(
        workflowIds.map((workflowId) =>
          m.Execution.find({ ownerId, workflowId }, { status: 1, createdAt: 1, finishedAt: 1 }, opts)
            .sort({ createdAt: -1, _id: -1 })
            .limit(perWorkflow)
            .lean<Pick<ExecutionDoc, '_id' | 'status' | 'createdAt' | 'finishedAt'>[]>(),
        ),
      );
      return Object.fromEntries(
        workflowIds.map((workflowId, i) => [
          workflowId,
          lists[i]!.map((d) => ({ executionId: d._id, status: d.status, createdAt: d.createdAt, ...(d.finishedAt ? { finishedAt: d.finishedAt } : {}) })),
        ]),
      );
    },
    async runStats(ownerId, { from, to, bucketMs, top }) {
      const inWindow = { ownerId, createdAt: { $gte: from, $lt: to } };
      const finished = { ...inWindow, finishedAt: { $exists: true } };
      type Facets = {
        buckets: { _id: { bucket: number; status: ExecutionStatus }; n: number }[];
        busiest: { _id: string; runs: number }[];
        failing: { _id: string; runs: number; failed: number }[];
        finished: { n: number }[];
      };
      const [facets] = await m.Execution.aggregate<Facets>(
        [
          { $match: inWindow },
          {
            $facet: {
              buckets: [{ $group: { _id: { bucket: { $floor: { $divide: [{ $subtract: ['$createdAt', from] }, bucketMs] } }, status: '$status' }, n: { $sum: 1 } } }],
              busiest: [{ $group: { _id: '$workflowId', runs: { $sum: 1 } } }, { $sort: { runs: -1, _id: 1 } }, { $limit: top }],
              failing: [
                { $group: { _id: '$workflowId', runs: { $sum: 1 }, failed: { $sum: { $cond: [{ $eq: ['$status', 'failed'] }, 1, 0] } } } },
                { $match: { failed: { $gt: 0 } } },
                { $sort: { failed: -1, _id: 1 } },
                { $limit: top },
              ],
              finished: [{ $match: { finishedAt: { $exists: true } } }, { $count: 'n' }],
            },
          },
        ],
        opts,
      );
      // Nearest-rank percentiles, exact like the other stores: the k-th smallest duration, sorted by the server.
      const finishedCount = facets?.finished[0]?.n ?? 0;
      const durationAtRank = async (p: number) => {
        const [row] = await m.Execution.aggregate<{ d: number }>(
          [
            { $match: finished },
            { $project: { _id: 0, d: { $subtract: ['$finishedAt', { $ifNull: ['$startedAt', '$createdAt'] }] } } },
            { $sort: { d: 1 } },
            { $skip: Math.max(0, Math.ceil(p * finishedCount) - 1) },
            { $limit: 1 },
          ],
          opts,
        );
        return row?.d ?? 0;
      };
      const [p50, p95, waitingForRetry] = await Promise.all([
        finishedCount ? durationAtRank(0.5) : 0,
        finishedCount ? durationAtRank(0.95) : 0,
        m.Execution.countDocuments({ ownerId, status: 'pending_retry' }, opts),
      ]);
      const buckets = new Map<number, StatusCounts>();
      const totals = emptyStatusCounts();
      for (const { _id, n } of facets?.buckets ?? []) {
        const counts = buckets.get(_id.bucket) ?? emptyStatusCounts();
        counts[_id.status] += n;
        totals[_id.status] += n;
        buckets.set(_id.bucket, counts);
      }
      return {
        buckets: [...buckets].sort(([a], [b]) => a - b).map(([bucket, counts]) => ({ start: new Date(from.getTime() + bucket * bucketMs), counts })),
        totals,
        durationMs: finishedCount ? { p50, p95 } : null,
        busiest: (facets?.busiest ?? []).map((w) => ({ workflowId: w._id, runs: w.runs })),
        mostFailing: (facets?.failing ?? []).map((w) => ({ workflowId: w._id, failed: w.failed, runs: w.runs })),
        waitingForRetry,
      };
    },
    async claimManyForRun(claims, leaseMs) {
      // One conditional update per run (each its own atomic claim): linear in the batch.
      const claimed: Execution[] = [];
      for (const { executionId, attempt } of claims) {
        const e = await executions.claimForRun(executionId, attempt, leaseMs);
        if (e) claimed.push(e);
      }
      return claimed;
    },
    async claimForRun(executionId, attempt, leaseMs) {
      const now = await serverNow();
      const doc = await m.Execution.findOneAndUpdate(
        { _id: executionId, attempt, $or: [{ status: 'queued' }, { status: 'running', leaseUntil: notAfter(now) }] },
        // A pipeline, so `startedAt` is set on the first claim only, in the same atomic write.
        [{ $set: { status: 'running', leaseUntil: new Date(now.getTime() + leaseMs), updatedAt: now, startedAt: { $ifNull: ['$startedAt', now] } } }],
        { ...claim, updatePipeline: true },
      ).lean<ExecutionDoc>();
      return doc ? toExecution(doc) : null;
    },
    async renewLease(executionId, attempt, leaseMs) {
      return (await m.Execution.updateOne(running(executionId, attempt), { $set: { leaseUntil: await leaseFrom(leaseMs) } }, opts)).matchedCount > 0;
    },
    async saveStep(executionId, attempt, step, leaseMs) {
      const at = step.finishedAt ?? step.startedAt;
      const $set = { [`steps.${step.index}`]: stepDoc(step), leaseUntil: await leaseFrom(leaseMs), ...(at ? { updatedAt: at } : {}) };
      return (await m.Execution.updateOne(running(executionId, attempt), { $set }, opts)).matchedCount > 0;
    },
    async finishAttempt(executionId, attempt, u) {
      const $set: Record<string, unknown> = { status: u.status, retriesLeft: u.retriesLeft, updatedAt: u.at };
      const $unset: Record<string, ''> = { leaseUntil: '' };
      if (u.nextAttemptAt) $set.nextAttemptAt = u.nextAttemptAt;
      else $unset.nextAttemptAt = '';
      if (u.error !== undefined) $set.error = boundError(u.error, limits.maxStepOutputBytes);
      else $unset.error = '';
      if (u.status === 'completed' || u.status === 'failed') $set.finishedAt = u.at;
      if (u.step) $set[`steps.${u.step.index}`] = stepDoc(u.step);
      return (await m.Execution.updateOne(running(executionId, attempt), { $set, $unset }, opts)).matchedCount > 0;
    },
    async cancel(executionId, at) {
      // A pipeline, so a step still running is failed as cancelled in the same atomic write.
      const doc = await m.Execution.findOneAndUpdate(
        { _id: executionId, status: { $nin: [...FINISHED_STATUSES] } },
        [
          {
            $set: {
              status: 'cancelled',
              updatedAt: at,
              finishedAt: at,
              steps: {
                $map: {
                  input: '$steps',
                  as: 's',
                  in: { $cond: [{ $eq: ['$$s.status', 'running'] }, { $mergeObjects: ['$$s', { status: 'failed', error: CANCELLED_STEP_ERROR, finishedAt: at }] }, '$$s'] },
                },
              },
            },
          },
          { $unset: ['leaseUntil', 'nextAttemptAt'] },
        ],
        { ...claim, updatePipeline: true },
      ).lean<ExecutionDoc>();
      return doc ? toExecution(doc) : null;
    },
    async resume(executionId, attempt, at, retriesLeft) {
      const doc = await m.Execution.findOneAndUpdate(
        { _id: executionId, attempt, status: { $in: [...RESUMABLE_STATUSES] } },
        [
          {
            $set: {
              status: 'queued',
              attempt: attempt + 1,
              retriesLeft,
              updatedAt: at,
              steps: {
                $map: {
                  input: '$steps',
                  as: 's',
                  in: { $cond: [{ $eq: ['$$s.status', 'succeeded'] }, '$$s', { index: '$$s.index', type: '$$s.type', status: 'pending' }] },
                },
              },
            },
          },
          { $unset: ['error', 'finishedAt', 'nextAttemptAt', 'leaseUntil'] },
        ],
        { ...claim, updatePipeline: true },
      ).lean<ExecutionDoc>();
      return doc ? toExecution(doc) : null;
    },
    async purgeFinished(before, limit) {
      if (limit <= 0) return 0; // a MongoDB limit of 0 means "no limit"
      const finished = { finishedAt: { $exists: true, $lt: before }, status: { $in: [...FINISHED_STATUSES] } };
      const doomed = await m.Execution.find(finished, { _id: 1 }, opts).sort({ finishedAt: 1 }).limit(limit).lean<Pick<ExecutionDoc, '_id'>[]>();
      if (doomed.length === 0) return 0;
      return (await m.Execution.deleteMany({ ...finished, _id: { $in: doomed.map((d) => d._id) } }, opts)).deletedCount;
    },
    async purgeBeyond(ownerId, workflowId, keep, limit) {
      if (limit <= 0) return 0;
      // Past the newest `keep` on the history index, the finished ones.
      const older = await m.Execution.find({ ownerId, workflowId }, { _id: 1, status: 1 }, opts)
        .sort({ createdAt: -1, _id: -1 })
        .skip(keep)
        .limit(limit * 4)
        .lean<Pick<ExecutionDoc, '_id' | 'status'>[]>();
      const doomed = older.filter((d) => FINISHED_STATUSES.includes(d.status)).slice(0, limit);
      if (doomed.length === 0) return 0;
      const finished = { status: { $in: [...FINISHED_STATUSES] } };
      return (await m.Execution.deleteMany({ ...finished, _id: { $in: doomed.map((d) => d._id) } }, opts)).deletedCount;
    },
    async requeueDueRetries(limit) {
      const now = await serverNow();
      const requeued = await claimInBatch(
        m.Execution,
        { filter: { status: 'pending_retry', nextAttemptAt: notAfter(now) }, sort: { nextAttemptAt: 1 }, limit },
        { $set: { status: 'queued', updatedAt: now }, $inc: { attempt: 1 }, $unset: { nextAttemptAt: '' } },
        opts,
      );
      return requeued.map(toExecution);
    },
    async resumeDueWaits(limit) {
      const now = await serverNow();
      const resumed = await claimInBatch(
        m.Execution,
        { filter: { status: 'waiting', nextAttemptAt: notAfter(now) }, sort: { nextAttemptAt: 1 }, limit },
        { $set: { status: 'queued', updatedAt: now } },
        opts,
      );
      return resumed.map(toExecution);
    },
    async requeueExpiredLeases(limit) {
      const now = await serverNow();
      const requeued = await claimInBatch(
        m.Execution,
        { filter: { status: 'running', leaseUntil: notAfter(now) }, sort: { leaseUntil: 1 }, limit },
        { $set: { status: 'queued', updatedAt: now }, $unset: { leaseUntil: '' } },
        opts,
      );
      return requeued.map(toExecution);
    },
    async requeueStaleQueued(queuedForMs, limit) {
      const now = await serverNow();
      const queuedBefore = new Date(now.getTime() - queuedForMs);
      // A run requeued meanwhile (another attempt, or back from a dead runner) has a new
      // updatedAt, so staleness alone is the compare-and-set of the claim.
      const stale = { status: 'queued' as const, updatedAt: { $lte: queuedBefore } };
      const claimed: ExecutionDoc[] = [];
      // Oldest first, a page at a time: a page's runs whose request still waits in the outbox
      // stay stale (and in front), so the next page starts past them; the others are claimed.
      for (let passed = 0; claimed.length < limit; ) {
        const page = await m.Execution.find(stale, { _id: 1, attempt: 1 }, opts)
          .sort({ updatedAt: 1 })
          .skip(passed)
          .limit(limit - claimed.length)
          .lean<Pick<ExecutionDoc, '_id' | 'attempt'>[]>();
        if (page.length === 0) break;
        const unsent = await m.Outbox.find(
          { published: false, 'event.data.executionId': { $in: page.map((e) => e._id) } },
          { 'event.data': 1 },
          opts,
        ).lean<{ event: { data: { executionId: string; attempt: number } } }[]>();
        const waiting = new Set(unsent.map(({ event }) => `${event.data.executionId}#${event.data.attempt}`));
        const free = page.filter(({ _id, attempt }) => !waiting.has(`${_id}#${attempt}`));
        passed += page.length - free.length;
        const query = { filter: { ...stale, _id: { $in: free.map((e) => e._id) } }, sort: { updatedAt: 1 as const }, limit: free.length };
        claimed.push(...(await claimInBatch(m.Execution, query, { $set: { updatedAt: now } }, opts)));
      }
      return claimed.map(toExecution);
    },
    async countByStatus() {
      const counts = {} as Record<ExecutionStatus, number>;
      let counted = 0;
      for (const status of Object.keys(COUNTED) as (keyof typeof COUNTED)[]) {
        counts[status] = await m.Execution.countDocuments({ status }, opts); // index keys only
        counted += counts[status];
      }
      // The collection's size from its metadata (a command transactions refuse: no session).
      counts.completed = Math.max(0, (await m.Execution.estimatedDocumentCount()) - counted);
      return counts;
    },
  };

  const outbox: OutboxRepo = {
    async add(message) {
      await throwIfDuplicate(
        () => m.Outbox.insertOne(toOutboxDoc(message), opts),
        () => new ConflictError(`outbox message ${message.id} already exists`),
      );
    },
    async claimBatch(lockMs, limit) {
      const now = await serverNow();
      // The claim's token is the lock token: it stays on the messages until another claim takes them.
      const lockToken = randomUUID();
      const claimed = await claimInBatch(
        m.Outbox,
        // In the order added: by createdAt (the writers' clocks), then id for a stable order.
        { filter: { published: false, lockedUntil: notAfter(now) }, sort: { createdAt: 1, _id: 1 }, limit },
        { $set: { lockedUntil: new Date(now.getTime() + lockMs) } },
        opts,
        lockToken,
      );
      return { lockToken, messages: claimed.map(toOutbox) };
    },
    async markPublished(lockToken, ids, at) {
      const result = await m.Outbox.updateMany(
        { _id: { $in: [...ids] }, claimToken: lockToken, published: false },
        { $set: { published: true, publishedAt: at }, $unset: { lockedUntil: '', claimToken: '' } },
        opts,
      );
      return result.matchedCount;
    },
    async markFailed(lockToken, ids, error) {
      const result = await m.Outbox.updateMany(
        { _id: { $in: [...ids] }, claimToken: lockToken, published: false },
        { $inc: { attempts: 1 }, $set: { lastError: error }, $unset: { lockedUntil: '', claimToken: '' } },
        opts,
      );
      return result.matchedCount;
    },
    relay: (lockMs, limit, publish) => relayByLock(outbox, lockMs, limit, publish, () => new Date()),
    async purgePublished(before, limit) {
      if (limit <= 0) return 0; // a MongoDB limit of 0 means "no limit"
      const doomed = await m.Outbox.find({ published: true, publishedAt: { $lt: before } }, { _id: 1 }, opts)
        .limit(limit)
        .lean<Pick<OutboxDoc, '_id'>[]>();
      if (doomed.length === 0) return 0;
      const result = await m.Outbox.deleteMany({ _id: { $in: doomed.map((d) => d._id) }, published: true }, opts);
      return result.deletedCount;
    },
    async backlog(now) {
      // Both answered from unpublished_queue, which holds the unpublished messages only.
      const count = await m.Outbox.countDocuments({ published: false }, opts);
      const oldest = await m.Outbox.findOne({ published: false }, { createdAt: 1 }, opts).sort({ createdAt: 1, _id: 1 }).lean<Pick<OutboxDoc, 'createdAt'>>();
      return { count, oldestAgeMs: oldest ? Math.max(0, now.getTime() - oldest.createdAt.getTime()) : 0 };
    },
  };

  const users: UserRepo = {
    async create(user) {
      await throwIfDuplicate(
        () => m.User.insertOne(toUserDoc(user), opts),
        (dup) => (collidedOn(dup, INDEX.email, 'email') ? new ConflictError('email is already registered', undefined, 'email_taken') : new ConflictError(`user ${user.userId} already exists`)),
      );
    },
    async findByEmail(email) {
      const doc = await m.User.findOne({ email }, null, opts).lean<UserDoc>();
      return doc ? toUser(doc) : null;
    },
    async findById(userId) {
      const doc = await m.User.findOne({ _id: userId }, null, opts).lean<UserDoc>();
      return doc ? toUser(doc) : null;
    },
    async revokeSessions(userId) {
      const doc = await m.User.findOneAndUpdate({ _id: userId }, { $inc: { sessionVersion: 1 } }, { ...opts, returnDocument: 'after' }).lean<UserDoc>();
      return doc ? doc.sessionVersion : null;
    },
  };

  const findKey = async (ownerId: string, key: string, notBefore: Date) => {
    const doc = await m.Idempotency.findOne({ ownerId, key, createdAt: { $gte: notBefore } }, { executionId: 1 }, opts).lean<Pick<IdempotencyDoc, 'executionId'>>();
    return doc ? doc.executionId : null;
  };
  const idempotency: IdempotencyRepo = {
    find: findKey,
    async putIfAbsent(ownerId, key, executionId, at, notBefore) {
      const live = await findKey(ownerId, key, notBefore);
      if (live !== null) return live;
      try {
        // Inserts, or overwrites an expired entry. In a transaction, a concurrent one's entry for
        // the same key is a write conflict: withTransaction runs the work again, and the read
        // above then finds the winner's entry.
        await m.Idempotency.updateOne({ ownerId, key, createdAt: { $lt: notBefore } }, { $set: { executionId, createdAt: at } }, { ...opts, upsert: true });
        return executionId;
      } catch (err) {
        // Outside a transaction: the unique index refused a second entry written since the read.
        const winner = duplicateKey(err) ? await findKey(ownerId, key, notBefore) : null;
        if (winner === null) throw err;
        return winner;
      }
    },
    async purgeExpired(before, limit) {
      if (limit <= 0) return 0; // a MongoDB limit of 0 means "no limit"
      // By the TTL index on createdAt, which deletes them too, about a minute late at worst.
      const doomed = await m.Idempotency.find({ createdAt: { $lt: before } }, { _id: 1 }, opts).limit(limit).batchSize(limit).lean<{ _id: unknown }[]>();
      if (doomed.length === 0) return 0;
      const result = await m.Idempotency.deleteMany({ _id: { $in: doomed.map((d) => d._id) }, createdAt: { $lt: before } }, opts);
      return result.deletedCount;
    },
  };

  const secrets: SecretRepo = {
    async put(secret) {
      const { ownerId, name, ciphertext, createdAt, updatedAt } = secret;
      const result = await m.Secret.updateOne({ ownerId, name }, { $set: { ciphertext, updatedAt }, $setOnInsert: { createdAt } }, { ...opts, upsert: true });
      return result.upsertedCount > 0;
    },
    async list(ownerId) {
      const docs = await m.Secret.find({ ownerId }, { _id: 0, name: 1, createdAt: 1, updatedAt: 1 }, opts).sort({ name: 1 }).lean<SecretInfo[]>();
      return docs.map(({ name, createdAt, updatedAt }) => ({ name, createdAt, updatedAt }));
    },
    async getMany(ownerId, names) {
      if (names.length === 0) return [];
      const docs = await m.Secret.find({ ownerId, name: { $in: [...names] } }, { _id: 0 }, opts).lean<SecretDoc[]>();
      return docs.map(({ ownerId: owner, name, ciphertext, createdAt, updatedAt }) => ({ ownerId: owner, name, ciphertext, createdAt, updatedAt }));
    },
    async delete(ownerId, name) {
      const result = await m.Secret.deleteOne({ ownerId, name }, opts);
      return result.deletedCount > 0;
    },
  };

  return { workflows, executions, outbox, users, idempotency, secrets };
}
