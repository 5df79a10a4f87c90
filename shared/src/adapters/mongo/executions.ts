import { decodeUserJson, encodeUserJson } from '../user-json.js';
import { randomUUID } from 'node:crypto';
import { ConflictError } from '../../errors.js';
import { CANCELLED_STEP_ERROR, FINISHED_STATUSES, MAX_ATTEMPT_RECORDS, RESUMABLE_STATUSES, type AttemptRecord, type Execution, type ExecutionStatus, type Step } from '../../domain/execution.js';
import { emptyStatusCounts, type StatusCounts } from '../../domain/run-stats.js';
import type { ExecutionRepo } from '../../ports/repos.js';
import { decodeExecutionCursor, executionSortKey, toPage } from '../cursor.js';
import { saveStepsInOrder } from '../in-order.js';
import { boundError, boundStep } from '../step-bound.js';
import { claimInBatch, notAfter, type MongoContext } from './connection.js';
import { throwIfDuplicate } from './errors.js';
import { compact, type AttemptDoc, type StepDoc, type ExecutionDoc } from './schema.js';

// The mappers: a domain object in, a document out, and back: no `_id`, no bookkeeping.
/** A step as stored: within the size bound, its output as JSON text. */
export function toStepDoc(step: Step, maxOutputBytes: number): StepDoc {
  const { output, ...rest } = boundStep(step, maxOutputBytes);
  return compact(output === undefined ? rest : { ...rest, output: encodeUserJson(output) });
}
const toStep = ({ output, ...rest }: StepDoc): Step => (output === undefined ? rest : { ...rest, output: decodeUserJson(output) });

const toAttemptDoc = ({ steps, ...rest }: AttemptRecord, maxOutputBytes: number): AttemptDoc => ({ ...rest, steps: steps.map((s) => toStepDoc(s, maxOutputBytes)) });
function toAttemptRecord({ steps, startedAt, error, ...rest }: AttemptDoc): AttemptRecord {
  return { ...rest, ...(startedAt ? { startedAt } : {}), ...(typeof error === 'string' ? { error } : {}), steps: steps.map(toStep) };
}

export function toExecutionDoc({ executionId, actions, trigger, steps, attempts, ...rest }: Execution, maxOutputBytes: number): ExecutionDoc {
  const { payload, ...fired } = trigger;
  return compact({
    _id: executionId,
    ...rest,
    actions: encodeUserJson(actions),
    trigger: payload === undefined ? fired : { ...fired, payload: encodeUserJson(payload) },
    steps: steps.map((s) => toStepDoc(s, maxOutputBytes)),
    ...(attempts?.length ? { attempts: attempts.map((a) => toAttemptDoc(a, maxOutputBytes)) } : {}),
  });
}
export function toExecution({ _id, claimToken: _claimToken, actions, trigger, steps, attempts, ...rest }: ExecutionDoc): Execution {
  const { payload, ...fired } = trigger;
  return {
    executionId: _id,
    ...rest,
    actions: decodeUserJson(actions),
    trigger: payload === undefined ? fired : { ...fired, payload: decodeUserJson(payload) },
    steps: steps.map(toStep),
    ...(attempts?.length ? { attempts: attempts.map(toAttemptRecord) } : {}),
  };
}

/**
 * `attempts` with the current attempt's record appended as it ended (`endedAs`, an
 * expression), the newest MAX_ATTEMPT_RECORDS kept: withEndedAttempt (domain/execution.ts) as
 * an update pipeline expression, reading the document as it was before the stage. Only the
 * updates that start another attempt use it, never a step write.
 */
function attemptsWithEnded(endedAs: unknown) {
  const ran = { $filter: { input: '$steps', as: 's', cond: { $eq: ['$$s.attempt', '$attempt'] } } };
  const record = { attempt: '$attempt', endedAs, startedAt: { $min: '$$ran.startedAt' }, finishedAt: '$updatedAt', error: '$error', steps: '$$ran' };
  return { $let: { vars: { ran }, in: { $slice: [{ $concatArrays: [{ $ifNull: ['$attempts', []] }, [record]] }, -MAX_ATTEMPT_RECORDS] } } };
}

/** What countByStatus counts exactly, each on a partial index (schema.ts): all but `completed` (the compiler checks the list). */
const COUNTED: Record<Exclude<ExecutionStatus, 'completed'>, true> = { queued: true, running: true, waiting: true, pending_retry: true, failed: true, cancelled: true };

/** The execution repository but for `endAttempts`, which spans three (see store.ts). */
export function createExecutionRepo(ctx: MongoContext): Omit<ExecutionRepo, 'endAttempts'> {
  const { models, limits, serverNow, opts, claim, leaseFrom } = ctx;
  const stepDoc = (step: Step) => toStepDoc(step, limits.maxStepOutputBytes);

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
    const docs = await models.Execution.find(conditions.length === 1 ? conditions[0]! : { $and: conditions }, null, opts)
      .sort({ createdAt: -1, _id: -1 })
      .limit(page.limit + 1)
      .lean<ExecutionDoc[]>();
    return toPage(docs.map(toExecution), page.limit, executionSortKey);
  };

  /** What claimForRun and claimManyForRun take at store time `now`: a queued run, or a running one whose lease has run out. */
  const claimable = (now: Date) => ({ $or: [{ status: 'queued' as const }, { status: 'running' as const, leaseUntil: notAfter(now) }] });
  /** The claim's write: a pipeline, so `startedAt` is set on the first claim only, in the same atomic write; a batch claim stamps its token. */
  const claimUpdate = (now: Date, leaseMs: number, claimToken?: string) => [
    {
      $set: {
        status: 'running',
        leaseUntil: new Date(now.getTime() + leaseMs),
        updatedAt: now,
        startedAt: { $ifNull: ['$startedAt', now] },
        ...(claimToken === undefined ? {} : { claimToken: { $literal: claimToken } }),
      },
    },
  ];

  const executions: Omit<ExecutionRepo, 'endAttempts'> = {
    async insert(execution) {
      await throwIfDuplicate(
        () => models.Execution.insertOne(toExecutionDoc(execution, limits.maxStepOutputBytes), opts),
        () => new ConflictError(`execution ${execution.executionId} already exists`),
      );
    },
    async get(executionId) {
      const doc = await models.Execution.findOne({ _id: executionId }, null, opts).lean<ExecutionDoc>();
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
          models.Execution.find({ ownerId, workflowId }, { status: 1, createdAt: 1, finishedAt: 1 }, opts)
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
      const [facets] = await models.Execution.aggregate<Facets>(
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
      const durationAtRank = async (fraction: number) => {
        const [row] = await models.Execution.aggregate<{ d: number }>(
          [
            { $match: finished },
            { $project: { _id: 0, d: { $subtract: ['$finishedAt', { $ifNull: ['$startedAt', '$createdAt'] }] } } },
            { $sort: { d: 1 } },
            { $skip: Math.max(0, Math.ceil(fraction * finishedCount) - 1) },
            { $limit: 1 },
          ],
          opts,
        );
        return row?.d ?? 0;
      };
      const [p50, p95, waitingForRetry] = await Promise.all([
        finishedCount ? durationAtRank(0.5) : 0,
        finishedCount ? durationAtRank(0.95) : 0,
        models.Execution.countDocuments({ ownerId, status: 'pending_retry' }, opts),
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
      if (claims.length === 0) return [];
      // Three round trips whatever the batch size: one update of every listed run still
      // claimable on its attempt (MongoDB re-checks the filter on each document as it writes it,
      // so of two concurrent claimers only one takes a run), stamping a token of this claim,
      // then one read of the runs that carry it. A run listed twice is one document, written once.
      const now = await serverNow();
      const claimToken = randomUUID();
      const ids = [...new Set(claims.map((c) => c.executionId))];
      const listed = claims.map(({ executionId, attempt }) => ({ _id: executionId, attempt }));
      await models.Execution.updateMany({ $and: [{ _id: { $in: ids } }, { $or: listed }, claimable(now)] }, claimUpdate(now, leaseMs, claimToken), {
        ...opts,
        updatePipeline: true,
      });
      const docs = await models.Execution.find({ _id: { $in: ids }, claimToken }, null, opts).batchSize(ids.length).lean<ExecutionDoc[]>();
      return docs.map(toExecution);
    },
    async claimForRun(executionId, attempt, leaseMs) {
      const now = await serverNow();
      const doc = await models.Execution.findOneAndUpdate({ _id: executionId, attempt, ...claimable(now) }, claimUpdate(now, leaseMs), {
        ...claim,
        updatePipeline: true,
      }).lean<ExecutionDoc>();
      return doc ? toExecution(doc) : null;
    },
    async setLease(executionId, attempt, leaseMs) {
      return (await models.Execution.updateOne(running(executionId, attempt), { $set: { leaseUntil: await leaseFrom(leaseMs) } }, opts)).matchedCount > 0;
    },
    async saveStep(executionId, attempt, step, leaseMs) {
      const at = step.finishedAt ?? step.startedAt;
      const $set = { [`steps.${step.index}`]: stepDoc(step), leaseUntil: await leaseFrom(leaseMs), ...(at ? { updatedAt: at } : {}) };
      return (await models.Execution.updateOne(running(executionId, attempt), { $set }, opts)).matchedCount > 0;
    },
    saveSteps(saves, leaseMs) {
      return saveStepsInOrder(executions, saves, leaseMs);
    },
    async finishAttempt(executionId, attempt, outcome) {
      const $set: Record<string, unknown> = { status: outcome.status, retriesLeft: outcome.retriesLeft, updatedAt: outcome.at };
      const $unset: Record<string, ''> = { leaseUntil: '' };
      if (outcome.nextAttemptAt) $set.nextAttemptAt = outcome.nextAttemptAt;
      else $unset.nextAttemptAt = '';
      if (outcome.error !== undefined) $set.error = boundError(outcome.error, limits.maxStepOutputBytes);
      else $unset.error = '';
      if (outcome.status === 'completed' || outcome.status === 'failed') $set.finishedAt = outcome.at;
      if (outcome.step) $set[`steps.${outcome.step.index}`] = stepDoc(outcome.step);
      return (await models.Execution.updateOne(running(executionId, attempt), { $set, $unset }, opts)).matchedCount > 0;
    },
    async cancel(executionId, at) {
      // A pipeline, so a step still running is failed as cancelled in the same atomic write.
      const doc = await models.Execution.findOneAndUpdate(
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
      const doc = await models.Execution.findOneAndUpdate(
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
              attempts: attemptsWithEnded('$status'),
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
      const doomed = await models.Execution.find(finished, { _id: 1 }, opts).sort({ finishedAt: 1 }).limit(limit).lean<Pick<ExecutionDoc, '_id'>[]>();
      if (doomed.length === 0) return 0;
      return (await models.Execution.deleteMany({ ...finished, _id: { $in: doomed.map((d) => d._id) } }, opts)).deletedCount;
    },
    async purgeBeyond(ownerId, workflowId, keep, limit) {
      if (limit <= 0) return 0;
      // Past the newest `keep` on the history index, the finished ones.
      const older = await models.Execution.find({ ownerId, workflowId }, { _id: 1, status: 1 }, opts)
        .sort({ createdAt: -1, _id: -1 })
        .skip(keep)
        .limit(limit * 4)
        .lean<Pick<ExecutionDoc, '_id' | 'status'>[]>();
      const doomed = older.filter((d) => FINISHED_STATUSES.includes(d.status)).slice(0, limit);
      if (doomed.length === 0) return 0;
      const finished = { status: { $in: [...FINISHED_STATUSES] } };
      return (await models.Execution.deleteMany({ ...finished, _id: { $in: doomed.map((d) => d._id) } }, opts)).deletedCount;
    },
    async requeueDueRetries(limit) {
      const now = await serverNow();
      const requeued = await claimInBatch(
        models.Execution,
        { filter: { status: 'pending_retry', nextAttemptAt: notAfter(now) }, sort: { nextAttemptAt: 1 }, limit },
        [{ $set: { status: 'queued', updatedAt: now, attempt: { $add: ['$attempt', 1] }, attempts: attemptsWithEnded({ $literal: 'pending_retry' }) } }, { $unset: ['nextAttemptAt'] }],
        opts,
      );
      return requeued.map(toExecution);
    },
    async resumeDueWaits(limit) {
      const now = await serverNow();
      const resumed = await claimInBatch(
        models.Execution,
        { filter: { status: 'waiting', nextAttemptAt: notAfter(now) }, sort: { nextAttemptAt: 1 }, limit },
        { $set: { status: 'queued', updatedAt: now } },
        opts,
      );
      return resumed.map(toExecution);
    },
    async requeueExpiredLeases(limit) {
      const now = await serverNow();
      const requeued = await claimInBatch(
        models.Execution,
        { filter: { status: 'running', leaseUntil: notAfter(now) }, sort: { leaseUntil: 1 }, limit },
        [{ $set: { status: 'queued', updatedAt: now, attempts: attemptsWithEnded({ $literal: 'lease_expired' }) } }, { $unset: ['leaseUntil'] }],
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
        const page = await models.Execution.find(stale, { _id: 1, attempt: 1 }, opts)
          .sort({ updatedAt: 1 })
          .skip(passed)
          .limit(limit - claimed.length)
          .lean<Pick<ExecutionDoc, '_id' | 'attempt'>[]>();
        if (page.length === 0) break;
        const unsent = await models.Outbox.find(
          { published: false, 'event.data.executionId': { $in: page.map((e) => e._id) } },
          { 'event.data': 1 },
          opts,
        ).lean<{ event: { data: { executionId: string; attempt: number } } }[]>();
        const waiting = new Set(unsent.map(({ event }) => `${event.data.executionId}#${event.data.attempt}`));
        const free = page.filter(({ _id, attempt }) => !waiting.has(`${_id}#${attempt}`));
        passed += page.length - free.length;
        const query = { filter: { ...stale, _id: { $in: free.map((e) => e._id) } }, sort: { updatedAt: 1 as const }, limit: free.length };
        claimed.push(...(await claimInBatch(models.Execution, query, { $set: { updatedAt: now } }, opts)));
      }
      return claimed.map(toExecution);
    },
    async countByStatus() {
      const counts = {} as Record<ExecutionStatus, number>;
      let counted = 0;
      for (const status of Object.keys(COUNTED) as (keyof typeof COUNTED)[]) {
        counts[status] = await models.Execution.countDocuments({ status }, opts); // index keys only
        counted += counts[status];
      }
      // The collection's size from its metadata (a command transactions refuse: no session).
      counts.completed = Math.max(0, (await models.Execution.estimatedDocumentCount()) - counted);
      return counts;
    },
  };
  return executions;
}
