import { CANCELLED_STEP_ERROR, FINISHED_STATUSES, RESUMABLE_STATUSES, withEndedAttempt, type Execution, type ExecutionStatus, type Step } from '../../domain/execution.js';
import { emptyStatusCounts, nearestRank, type RecentRun, type StatusCounts } from '../../domain/run-stats.js';
import type { ExecutionRepo } from '../../ports/repos.js';
import { ConflictError } from '../../errors.js';
import { decodeExecutionCursor, executionSortKey } from '../cursor.js';
import { saveStepsInOrder } from '../in-order.js';
import { boundError, boundStep } from '../step-bound.js';
import { clone, del, paginate, put, time, type MemoryContext } from './schema.js';

/** Newest first: createdAt, then executionId, both descending (the durable stores' index order). */
const newestFirstOrder = (a: Execution, b: Execution) => (executionSortKey(a) < executionSortKey(b) ? 1 : -1);
const recentRun = (e: Execution): RecentRun => ({
  executionId: e.executionId,
  status: e.status,
  createdAt: e.createdAt,
  ...(e.finishedAt ? { finishedAt: e.finishedAt } : {}),
});

/** The execution repository but for `endAttempts`, which spans three (see store.ts). */
export function createExecutionRepo(ctx: MemoryContext): Omit<ExecutionRepo, 'endAttempts'> {
  const { state, journal, clock, maxStepOutputBytes, leaseFrom } = ctx;
  const stored = (step: Step) => clone(boundStep(step, maxStepOutputBytes));
  const recount = (from: ExecutionStatus | undefined, to: ExecutionStatus) => {
    if (from === to) return;
    if (from) put(journal, state.executionsByStatus, from, (state.executionsByStatus.get(from) ?? 0) - 1);
    put(journal, state.executionsByStatus, to, (state.executionsByStatus.get(to) ?? 0) + 1);
  };
  const update = (execution: Execution, changes: Partial<Execution>, remove: (keyof Execution)[] = []) => {
    const next = { ...execution, ...changes };
    for (const field of remove) delete next[field];
    put(journal, state.executions, execution.executionId, next);
    recount(execution.status, next.status);
    return next;
  };

  const removeExecution = (execution: Execution) => {
    del(journal, state.executions, execution.executionId);
    put(journal, state.executionsByStatus, execution.status, (state.executionsByStatus.get(execution.status) ?? 0) - 1);
  };

  const listRuns: ExecutionRepo['listRuns'] = async (ownerId, filter, page) => {
    const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
    const mine = [...state.executions.values()]
      .filter(
        (e) =>
          e.ownerId === ownerId &&
          (filter.workflowId === undefined || e.workflowId === filter.workflowId) &&
          (statuses === undefined || statuses.has(e.status)) &&
          (filter.createdFrom === undefined || e.createdAt.getTime() >= filter.createdFrom.getTime()) &&
          (filter.createdBefore === undefined || e.createdAt.getTime() < filter.createdBefore.getTime()),
      )
      .sort(newestFirstOrder);
    const result = paginate(mine, page, decodeExecutionCursor, (e, c) => executionSortKey(e) < executionSortKey(c), executionSortKey);
    return { ...result, items: result.items.map(clone) };
  };

  /** The claim of claimForRun at store time `now`: the run, if queued or running on a lease that has run out, on `attempt`. */
  const claimAt = (executionId: string, attempt: number, leaseMs: number, now: Date): Execution | null => {
    const execution = state.executions.get(executionId);
    if (!execution || execution.attempt !== attempt) return null;
    const takeable = execution.status === 'queued' || (execution.status === 'running' && time(execution.leaseUntil) <= now.getTime());
    if (!takeable) return null;
    return clone(
      update(execution, {
        status: 'running',
        leaseUntil: leaseFrom(leaseMs, now),
        startedAt: execution.startedAt ?? now,
        updatedAt: now,
      }),
    );
  };

  /** Up to `limit` runs in `status` whose `field` (a due time or lease) is not after `now`, earliest first: what the sweeps take. */
  const dueAt = (now: Date, status: ExecutionStatus, field: 'nextAttemptAt' | 'leaseUntil', limit: number) =>
    [...state.executions.values()]
      .filter((e) => e.status === status && time(e[field]) <= now.getTime())
      .sort((a, b) => time(a[field]) - time(b[field]))
      .slice(0, limit);

  const executions: Omit<ExecutionRepo, 'endAttempts'> = {
    async insert(execution) {
      if (state.executions.has(execution.executionId)) throw new ConflictError(`execution ${execution.executionId} already exists`);
      put(journal, state.executions, execution.executionId, { ...clone(execution), steps: execution.steps.map(stored) });
      recount(undefined, execution.status);
    },
    async get(executionId) {
      const execution = state.executions.get(executionId);
      return execution ? clone(execution) : null;
    },
    async listByWorkflow(ownerId, workflowId, page) {
      return listRuns(ownerId, { workflowId }, page);
    },
    listRuns,
    async recentRuns(ownerId, workflowIds, perWorkflow) {
      const wanted = new Set(workflowIds);
      const result: Record<string, RecentRun[]> = Object.fromEntries(workflowIds.map((id) => [id, []]));
      const newestFirst = [...state.executions.values()].filter((e) => e.ownerId === ownerId && wanted.has(e.workflowId)).sort(newestFirstOrder);
      for (const execution of newestFirst) {
        const runs = result[execution.workflowId]!;
        if (runs.length < perWorkflow) runs.push(recentRun(execution));
      }
      return result;
    },
    async runStats(ownerId, query) {
      const inWindow = [...state.executions.values()].filter(
        (e) => e.ownerId === ownerId && e.createdAt.getTime() >= query.from.getTime() && e.createdAt.getTime() < query.to.getTime(),
      );
      const buckets = new Map<number, StatusCounts>();
      const totals = emptyStatusCounts();
      const perWorkflow = new Map<string, { runs: number; failed: number }>();
      const durations: number[] = [];
      for (const execution of inWindow) {
        const bucket = Math.floor((execution.createdAt.getTime() - query.from.getTime()) / query.bucketMs);
        const counts = buckets.get(bucket) ?? emptyStatusCounts();
        counts[execution.status] += 1;
        buckets.set(bucket, counts);
        totals[execution.status] += 1;
        const workflowRuns = perWorkflow.get(execution.workflowId) ?? { runs: 0, failed: 0 };
        workflowRuns.runs += 1;
        if (execution.status === 'failed') workflowRuns.failed += 1;
        perWorkflow.set(execution.workflowId, workflowRuns);
        if (execution.finishedAt) durations.push(execution.finishedAt.getTime() - (execution.startedAt ?? execution.createdAt).getTime());
      }
      durations.sort((a, b) => a - b);
      const workflows = [...perWorkflow].map(([workflowId, w]) => ({ workflowId, ...w }));
      const byId = (a: { workflowId: string }, b: { workflowId: string }) => (a.workflowId < b.workflowId ? -1 : a.workflowId > b.workflowId ? 1 : 0);
      return {
        buckets: [...buckets]
          .sort(([a], [b]) => a - b)
          .map(([bucket, counts]) => ({ start: new Date(query.from.getTime() + bucket * query.bucketMs), counts })),
        totals,
        durationMs: durations.length ? { p50: nearestRank(durations, 0.5), p95: nearestRank(durations, 0.95) } : null,
        busiest: workflows
          .sort((a, b) => b.runs - a.runs || byId(a, b))
          .slice(0, query.top)
          .map(({ workflowId, runs }) => ({ workflowId, runs })),
        mostFailing: workflows
          .filter((w) => w.failed > 0)
          .sort((a, b) => b.failed - a.failed || byId(a, b))
          .slice(0, query.top),
        waitingForRetry: [...state.executions.values()].filter((e) => e.ownerId === ownerId && e.status === 'pending_retry').length,
      };
    },
    async claimManyForRun(claims, leaseMs) {
      // At one store time, like the other stores' single write; a run listed twice is claimed once.
      const now = clock.now();
      const claimed = new Map<string, Execution>();
      for (const { executionId, attempt } of claims) {
        if (claimed.has(executionId)) continue;
        const run = claimAt(executionId, attempt, leaseMs, now);
        if (run) claimed.set(executionId, run);
      }
      return [...claimed.values()];
    },
    async claimForRun(executionId, attempt, leaseMs) {
      return claimAt(executionId, attempt, leaseMs, clock.now());
    },
    async setLease(executionId, attempt, leaseMs) {
      const execution = state.executions.get(executionId);
      if (!execution || execution.status !== 'running' || execution.attempt !== attempt) return false;
      update(execution, { leaseUntil: leaseFrom(leaseMs) });
      return true;
    },
    async saveStep(executionId, attempt, step: Step, leaseMs) {
      const execution = state.executions.get(executionId);
      if (!execution || execution.status !== 'running' || execution.attempt !== attempt) return false;
      const steps = execution.steps.slice();
      steps[step.index] = stored(step);
      update(execution, { steps, leaseUntil: leaseFrom(leaseMs), updatedAt: step.finishedAt ?? step.startedAt ?? execution.updatedAt });
      return true;
    },
    saveSteps(saves, leaseMs) {
      return saveStepsInOrder(executions, saves, leaseMs);
    },
    async finishAttempt(executionId, attempt, outcome) {
      const execution = state.executions.get(executionId);
      if (!execution || execution.status !== 'running' || execution.attempt !== attempt) return false;
      const finished = outcome.status === 'completed' || outcome.status === 'failed';
      const changes: Partial<Execution> = { status: outcome.status, retriesLeft: outcome.retriesLeft, updatedAt: outcome.at };
      if (outcome.step) {
        changes.steps = execution.steps.slice();
        changes.steps[outcome.step.index] = stored(outcome.step);
      }
      const remove: (keyof Execution)[] = ['leaseUntil'];
      if (outcome.nextAttemptAt) changes.nextAttemptAt = outcome.nextAttemptAt;
      else remove.push('nextAttemptAt');
      if (outcome.error !== undefined) changes.error = boundError(outcome.error, maxStepOutputBytes);
      else remove.push('error');
      if (finished) changes.finishedAt = outcome.at;
      update(execution, changes, remove);
      return true;
    },
    async cancel(executionId, at) {
      const execution = state.executions.get(executionId);
      if (!execution || FINISHED_STATUSES.includes(execution.status)) return null;
      const steps = execution.steps.map((step) => (step.status === 'running' ? { ...step, status: 'failed' as const, error: CANCELLED_STEP_ERROR, finishedAt: at } : step));
      return clone(update(execution, { status: 'cancelled', steps, updatedAt: at, finishedAt: at }, ['leaseUntil', 'nextAttemptAt']));
    },
    async resume(executionId, attempt, at, retriesLeft) {
      const execution = state.executions.get(executionId);
      if (!execution || execution.attempt !== attempt || !RESUMABLE_STATUSES.includes(execution.status)) return null;
      const steps = execution.steps.map((step): Step => (step.status === 'succeeded' ? step : { index: step.index, type: step.type, status: 'pending' }));
      const attempts = withEndedAttempt(execution, execution.status === 'cancelled' ? 'cancelled' : 'failed');
      return clone(update(execution, { status: 'queued', attempt: attempt + 1, retriesLeft, steps, attempts, updatedAt: at }, ['error', 'finishedAt', 'nextAttemptAt', 'leaseUntil']));
    },
    async purgeFinished(before, limit) {
      const doomed = [...state.executions.values()]
        .filter((e) => FINISHED_STATUSES.includes(e.status) && e.finishedAt !== undefined && e.finishedAt.getTime() < before.getTime())
        .sort((a, b) => time(a.finishedAt) - time(b.finishedAt))
        .slice(0, limit);
      for (const execution of doomed) removeExecution(execution);
      return doomed.length;
    },
    async purgeBeyond(ownerId, workflowId, keep, limit) {
      const doomed = [...state.executions.values()]
        .filter((e) => e.ownerId === ownerId && e.workflowId === workflowId)
        .sort(newestFirstOrder)
        .slice(keep)
        .filter((e) => FINISHED_STATUSES.includes(e.status))
        .slice(0, limit);
      for (const execution of doomed) removeExecution(execution);
      return doomed.length;
    },
    async requeueDueRetries(limit) {
      const now = clock.now();
      const due = dueAt(now, 'pending_retry', 'nextAttemptAt', limit);
      return due.map((e) => clone(update(e, { status: 'queued', attempt: e.attempt + 1, attempts: withEndedAttempt(e, 'pending_retry'), updatedAt: now }, ['nextAttemptAt'])));
    },
    async resumeDueWaits(limit) {
      const now = clock.now();
      return dueAt(now, 'waiting', 'nextAttemptAt', limit).map((e) => clone(update(e, { status: 'queued', updatedAt: now })));
    },
    async requeueExpiredLeases(limit) {
      const now = clock.now();
      const stuck = dueAt(now, 'running', 'leaseUntil', limit);
      return stuck.map((e) => clone(update(e, { status: 'queued', attempts: withEndedAttempt(e, 'lease_expired'), updatedAt: now }, ['leaseUntil'])));
    },
    async requeueStaleQueued(queuedForMs, limit) {
      const now = clock.now();
      const queuedBefore = new Date(now.getTime() - queuedForMs);
      const unsent = new Set<string>(); // the outbox holds unpublished messages only
      for (const { event } of state.outbox.values()) unsent.add(`${event.data.executionId}#${event.data.attempt}`);
      const stale = [...state.executions.values()]
        .filter((e) => e.status === 'queued' && time(e.updatedAt) <= queuedBefore.getTime() && !unsent.has(`${e.executionId}#${e.attempt}`))
        .sort((a, b) => time(a.updatedAt) - time(b.updatedAt))
        .slice(0, limit);
      return stale.map((e) => clone(update(e, { updatedAt: now })));
    },
    async countByStatus() {
      const counts: Record<ExecutionStatus, number> = emptyStatusCounts();
      for (const [status, count] of state.executionsByStatus) counts[status] = count;
      return counts;
    },
  };
  return executions;
}
