import { ConflictError, NotFoundError } from '../../errors.js';
import { CANCELLED_STEP_ERROR, FINISHED_STATUSES, RESUMABLE_STATUSES, type Execution, type ExecutionStatus, type Step } from '../../domain/execution.js';
import type { OutboxMessage } from '../../domain/outbox.js';
import type { StoredSecret } from '../../domain/secret.js';
import type { User } from '../../domain/user.js';
import { emptyStatusCounts, nearestRank, type RecentRun, type StatusCounts } from '../../domain/run-stats.js';
import { sameTriggerSpec, type StoredTrigger, type Workflow } from '../../domain/workflow.js';
import type {
  ExecutionRepo,
  IdempotencyRepo,
  SecretRepo,
  OutboxRepo,
  Page,
  PageRequest,
  Repos,
  Store,
  UserRepo,
  WorkflowRepo,
} from '../../ports/repos.js';
import { newId } from '../../ids.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import { decodeCursor, decodeExecutionCursor, executionSortKey, toPage } from '../cursor.js';
import { boundError, boundStep, DEFAULT_MAX_STEP_OUTPUT_BYTES, type StepBoundOptions } from '../step-bound.js';
import { relayByLock } from '../relay-by-lock.js';
import { AsyncMutex } from './mutex.js';

const clone = <T>(value: T): T => structuredClone(value);
const key = (ownerId: string, id: string) => `${ownerId}\u0000${id}`;
const time = (d: Date | undefined) => (d ? d.getTime() : Number.NEGATIVE_INFINITY);

type LockedOutboxMessage = OutboxMessage & { lockToken?: string };

class State {
  readonly workflows = new Map<string, Workflow>();
  readonly hooks = new Map<string, string>(); // hookId -> workflow key
  readonly executions = new Map<string, Execution>();
  readonly executionsByStatus = new Map<ExecutionStatus, number>(); // kept with every write: a count never walks the executions
  readonly outbox = new Map<string, LockedOutboxMessage>(); // unpublished only, in insertion order
  readonly users = new Map<string, User>();
  readonly emails = new Map<string, string>(); // email -> userId
  readonly idempotency = new Map<string, { executionId: string; at: Date }>();
  readonly secrets = new Map<string, StoredSecret>(); // owner + name -> secret
}

type Undo = () => void;

/** Records how to put a map entry back the way it was, when running inside a transaction. */
class Journal {
  private readonly undos: Undo[] = [];
  remember<K, V>(map: Map<K, V>, k: K): void {
    const had = map.has(k);
    const before = map.get(k);
    this.undos.push(() => (had ? map.set(k, before as V) : map.delete(k)));
  }
  rollback(): void {
    for (const undo of this.undos.reverse()) undo();
  }
}

/** Writes to a map, journaling the previous value when in a transaction. */
function put<K, V>(journal: Journal | null, map: Map<K, V>, k: K, v: V): void {
  journal?.remember(map, k);
  map.set(k, v);
}
function del<K, V>(journal: Journal | null, map: Map<K, V>, k: K): void {
  journal?.remember(map, k);
  map.delete(k);
}

function paginate<T, C>(sorted: T[], page: PageRequest, decode: (cursor: string) => C, after: (t: T, cursor: C) => boolean, sortKey: (t: T) => string): Page<T> {
  const cursor = page.cursor ? decode(page.cursor) : undefined;
  return toPage(cursor === undefined ? sorted : sorted.filter((t) => after(t, cursor)), page.limit, sortKey);
}

const hookInUse = () => new ConflictError('hook id already in use', undefined, 'hook_conflict');

/** Newest first: createdAt, then executionId, both descending (the durable stores' index order). */
const newestFirstOrder = (a: Execution, b: Execution) => (executionSortKey(a) < executionSortKey(b) ? 1 : -1);
const recentRun = (e: Execution): RecentRun => ({
  executionId: e.executionId,
  status: e.status,
  createdAt: e.createdAt,
  ...(e.finishedAt ? { finishedAt: e.finishedAt } : {}),
});

function makeRepos(s: State, j: Journal | null, clock: Clock, maxStepOutputBytes: number): Repos {
  const stored = (step: Step) => clone(boundStep(step, maxStepOutputBytes));
  /** A lease or lock of `ms` from `now`, by default this store's clock's. */
  const leaseFrom = (ms: number, now = clock.now()) => new Date(now.getTime() + ms);

  const workflows: WorkflowRepo = {
    async create(wf) {
      const k = key(wf.ownerId, wf.workflowId);
      if (s.workflows.has(k)) throw new ConflictError(`workflow "${wf.workflowId}" already exists`, undefined, 'workflow_exists');
      if (wf.trigger.hookId && s.hooks.has(wf.trigger.hookId)) throw hookInUse();
      put(j, s.workflows, k, clone(wf));
      if (wf.trigger.hookId) put(j, s.hooks, wf.trigger.hookId, k);
    },
    async get(ownerId, workflowId) {
      const wf = s.workflows.get(key(ownerId, workflowId));
      return wf ? clone(wf) : null;
    },
    async list(ownerId, page, idPrefix) {
      const mine = [...s.workflows.values()]
        .filter((w) => w.ownerId === ownerId && (idPrefix === undefined || w.workflowId.startsWith(idPrefix)))
        .sort((a, b) => (a.workflowId < b.workflowId ? -1 : a.workflowId > b.workflowId ? 1 : 0));
      const result = paginate(mine, page, decodeCursor, (w, c) => w.workflowId > c, (w) => w.workflowId);
      return { ...result, items: result.items.map(clone) };
    },
    async replace(wf, expectedVersion) {
      const k = key(wf.ownerId, wf.workflowId);
      const current = s.workflows.get(k);
      if (!current) throw new NotFoundError(`workflow "${wf.workflowId}" not found`);
      if (current.version !== expectedVersion) {
        throw new ConflictError('workflow was changed concurrently', { currentVersion: current.version }, 'version_conflict');
      }
      const newHook = wf.trigger.hookId;
      if (newHook && newHook !== current.trigger.hookId && s.hooks.has(newHook)) throw hookInUse();
      if (current.trigger.hookId && current.trigger.hookId !== newHook) del(j, s.hooks, current.trigger.hookId);
      if (newHook) put(j, s.hooks, newHook, k);
      // Runtime state belongs to the runs and the scheduler, not the definition: a replace never
      // rewinds it. The due time is the scheduler's while the schedule stays the same.
      const { executionId: _e, leaseUntil: _l, nextRunAt: given, ...definition } = clone(wf.trigger);
      const { status, executionId, leaseUntil } = current.trigger;
      const nextRunAt = sameTriggerSpec(current.trigger, wf.trigger) ? current.trigger.nextRunAt : given;
      const trigger = {
        ...definition,
        status,
        ...(executionId ? { executionId } : {}),
        ...(leaseUntil ? { leaseUntil } : {}),
        ...(nextRunAt ? { nextRunAt } : {}),
      } as StoredTrigger;
      put(j, s.workflows, k, { ...clone(wf), trigger });
    },
    async delete(ownerId, workflowId) {
      const k = key(ownerId, workflowId);
      const current = s.workflows.get(k);
      if (!current) return false;
      if (current.trigger.hookId) del(j, s.hooks, current.trigger.hookId);
      del(j, s.workflows, k);
      return true;
    },
    async findByHookId(hookId) {
      const k = s.hooks.get(hookId);
      const wf = k ? s.workflows.get(k) : undefined;
      return wf ? clone(wf) : null;
    },
    async setTriggerStatus(ownerId, workflowId, executionId, from, to, at) {
      const k = key(ownerId, workflowId);
      const wf = s.workflows.get(k);
      const holder = wf?.trigger.executionId;
      if (!wf || !from.includes(wf.trigger.status) || (holder !== undefined && holder !== executionId)) return false;
      const trigger: StoredTrigger = { ...wf.trigger, status: to, executionId };
      if (to === 'idle') delete trigger.executionId;
      put(j, s.workflows, k, { ...wf, trigger, updatedAt: at });
      return true;
    },
    async acceptRun(execution, request, expectedVersion) {
      // Checked before anything is written: outside a unit of work there is no journal to undo with.
      if (s.executions.has(execution.executionId)) throw new ConflictError(`execution ${execution.executionId} already exists`);
      if (s.outbox.has(request.id)) throw new ConflictError(`outbox message ${request.id} already exists`);
      const wf = s.workflows.get(key(execution.ownerId, execution.workflowId));
      if (expectedVersion !== undefined && wf?.version !== expectedVersion) return false;
      if (!(await workflows.setTriggerStatus(execution.ownerId, execution.workflowId, execution.executionId, ['idle'], 'busy', execution.createdAt))) return false;
      await executions.insert(execution);
      await outbox.add(request);
      return true;
    },
    async nextDueAt(after) {
      let earliest: Date | null = null;
      for (const w of s.workflows.values()) {
        const at = w.trigger.nextRunAt;
        if (w.enabled && at && at > after && (!earliest || at < earliest)) earliest = at;
      }
      return earliest ? new Date(earliest) : null;
    },
    async withRunLimit(after, limit) {
      const order = (w: { ownerId: string; workflowId: string }) => key(w.ownerId, w.workflowId);
      return [...s.workflows.values()]
        .filter((w) => w.retention?.maxRuns !== undefined && (after === undefined || order(w) > order(after)))
        .sort((a, b) => (order(a) < order(b) ? -1 : 1))
        .slice(0, limit)
        .map((w) => ({ ownerId: w.ownerId, workflowId: w.workflowId, maxRuns: w.retention!.maxRuns }));
    },
    async claimDueScheduled(leaseMs, limit) {
      const now = clock.now();
      const due = [...s.workflows.entries()]
        .filter(
          ([, w]) =>
            w.enabled &&
            w.trigger.nextRunAt !== undefined &&
            time(w.trigger.nextRunAt) <= now.getTime() &&
            time(w.trigger.leaseUntil) <= now.getTime(),
        )
        .sort(([, a], [, b]) => time(a.trigger.nextRunAt) - time(b.trigger.nextRunAt))
        .slice(0, limit);
      const leaseUntil = leaseFrom(leaseMs, now);
      return due.map(([k, w]) => {
        const claimed = { ...w, trigger: { ...w.trigger, leaseUntil } };
        put(j, s.workflows, k, claimed);
        return clone(claimed);
      });
    },
    async advanceSchedule(ownerId, workflowId, dueAt, nextRunAt) {
      const k = key(ownerId, workflowId);
      const wf = s.workflows.get(k);
      if (!wf || time(wf.trigger.nextRunAt) !== dueAt.getTime()) return false;
      const trigger = { ...wf.trigger };
      delete trigger.leaseUntil;
      if (nextRunAt) trigger.nextRunAt = nextRunAt;
      else delete trigger.nextRunAt;
      put(j, s.workflows, k, { ...wf, trigger });
      return true;
    },
  };

  const recount = (from: ExecutionStatus | undefined, to: ExecutionStatus) => {
    if (from === to) return;
    if (from) put(j, s.executionsByStatus, from, (s.executionsByStatus.get(from) ?? 0) - 1);
    put(j, s.executionsByStatus, to, (s.executionsByStatus.get(to) ?? 0) + 1);
  };
  const update = (e: Execution, changes: Partial<Execution>, remove: (keyof Execution)[] = []) => {
    const next = { ...e, ...changes };
    for (const field of remove) delete next[field];
    put(j, s.executions, e.executionId, next);
    recount(e.status, next.status);
    return next;
  };

  const removeExecution = (e: Execution) => {
    del(j, s.executions, e.executionId);
    put(j, s.executionsByStatus, e.status, (s.executionsByStatus.get(e.status) ?? 0) - 1);
  };

  const listRuns: ExecutionRepo['listRuns'] = async (ownerId, filter, page) => {
    const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
    const mine = [...s.executions.values()]
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

  const executions: ExecutionRepo = {
    async insert(e) {
      if (s.executions.has(e.executionId)) throw new ConflictError(`execution ${e.executionId} already exists`);
      put(j, s.executions, e.executionId, { ...clone(e), steps: e.steps.map(stored) });
      recount(undefined, e.status);
    },
    async get(executionId) {
      const e = s.executions.get(executionId);
      return e ? clone(e) : null;
    },
    async listByWorkflow(ownerId, workflowId, page) {
      return listRuns(ownerId, { workflowId }, page);
    },
    listRuns,
    async recentRuns(ownerId, workflowIds, perWorkflow) {
      const wanted = new Set(workflowIds);
      const result: Record<string, RecentRun[]> = Object.fromEntries(workflowIds.map((id) => [id, []]));
      const newestFirst = [...s.executions.values()].filter((e) => e.ownerId === ownerId && wanted.has(e.workflowId)).sort(newestFirstOrder);
      for (const e of newestFirst) {
        const runs = result[e.workflowId]!;
        if (runs.length < perWorkflow) runs.push(recentRun(e));
      }
      return result;
    },
    async runStats(ownerId, query) {
      const inWindow = [...s.executions.values()].filter(
        (e) => e.ownerId === ownerId && e.createdAt.getTime() >= query.from.getTime() && e.createdAt.getTime() < query.to.getTime(),
      );
      const buckets = new Map<number, StatusCounts>();
      const totals = emptyStatusCounts();
      const perWorkflow = new Map<string, { runs: number; failed: number }>();
      const durations: number[] = [];
      for (const e of inWindow) {
        const bucket = Math.floor((e.createdAt.getTime() - query.from.getTime()) / query.bucketMs);
        const counts = buckets.get(bucket) ?? emptyStatusCounts();
        counts[e.status] += 1;
        buckets.set(bucket, counts);
        totals[e.status] += 1;
        const w = perWorkflow.get(e.workflowId) ?? { runs: 0, failed: 0 };
        w.runs += 1;
        if (e.status === 'failed') w.failed += 1;
        perWorkflow.set(e.workflowId, w);
        if (e.finishedAt) durations.push(e.finishedAt.getTime() - (e.startedAt ?? e.createdAt).getTime());
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
        waitingForRetry: [...s.executions.values()].filter((e) => e.ownerId === ownerId && e.status === 'pending_retry').length,
      };
    },
    async claimManyForRun(claims, leaseMs) {
      const claimed: Execution[] = [];
      for (const { executionId, attempt } of claims) {
        const e = await executions.claimForRun(executionId, attempt, leaseMs);
        if (e) claimed.push(e);
      }
      return claimed;
    },
    async claimForRun(executionId, attempt, leaseMs) {
      const now = clock.now();
      const e = s.executions.get(executionId);
      if (!e || e.attempt !== attempt) return null;
      const takeable = e.status === 'queued' || (e.status === 'running' && time(e.leaseUntil) <= now.getTime());
      if (!takeable) return null;
      return clone(
        update(e, {
          status: 'running',
          leaseUntil: leaseFrom(leaseMs, now),
          startedAt: e.startedAt ?? now,
          updatedAt: now,
        }),
      );
    },
    async renewLease(executionId, attempt, leaseMs) {
      const e = s.executions.get(executionId);
      if (!e || e.status !== 'running' || e.attempt !== attempt) return false;
      update(e, { leaseUntil: leaseFrom(leaseMs) });
      return true;
    },
    async saveStep(executionId, attempt, step: Step, leaseMs) {
      const e = s.executions.get(executionId);
      if (!e || e.status !== 'running' || e.attempt !== attempt) return false;
      const steps = e.steps.slice();
      steps[step.index] = stored(step);
      update(e, { steps, leaseUntil: leaseFrom(leaseMs), updatedAt: step.finishedAt ?? step.startedAt ?? e.updatedAt });
      return true;
    },
    async finishAttempt(executionId, attempt, u) {
      const e = s.executions.get(executionId);
      if (!e || e.status !== 'running' || e.attempt !== attempt) return false;
      const finished = u.status === 'completed' || u.status === 'failed';
      const changes: Partial<Execution> = { status: u.status, retriesLeft: u.retriesLeft, updatedAt: u.at };
      if (u.step) {
        changes.steps = e.steps.slice();
        changes.steps[u.step.index] = stored(u.step);
      }
      const remove: (keyof Execution)[] = ['leaseUntil'];
      if (u.nextAttemptAt) changes.nextAttemptAt = u.nextAttemptAt;
      else remove.push('nextAttemptAt');
      if (u.error !== undefined) changes.error = boundError(u.error, maxStepOutputBytes);
      else remove.push('error');
      if (finished) changes.finishedAt = u.at;
      update(e, changes, remove);
      return true;
    },
    async cancel(executionId, at) {
      const e = s.executions.get(executionId);
      if (!e || FINISHED_STATUSES.includes(e.status)) return null;
      const steps = e.steps.map((step) => (step.status === 'running' ? { ...step, status: 'failed' as const, error: CANCELLED_STEP_ERROR, finishedAt: at } : step));
      return clone(update(e, { status: 'cancelled', steps, updatedAt: at, finishedAt: at }, ['leaseUntil', 'nextAttemptAt']));
    },
    async resume(executionId, attempt, at, retriesLeft) {
      const e = s.executions.get(executionId);
      if (!e || e.attempt !== attempt || !RESUMABLE_STATUSES.includes(e.status)) return null;
      const steps = e.steps.map((step): Step => (step.status === 'succeeded' ? step : { index: step.index, type: step.type, status: 'pending' }));
      return clone(update(e, { status: 'queued', attempt: attempt + 1, retriesLeft, steps, updatedAt: at }, ['error', 'finishedAt', 'nextAttemptAt', 'leaseUntil']));
    },
    async purgeFinished(before, limit) {
      const doomed = [...s.executions.values()]
        .filter((e) => FINISHED_STATUSES.includes(e.status) && e.finishedAt !== undefined && e.finishedAt.getTime() < before.getTime())
        .sort((a, b) => time(a.finishedAt) - time(b.finishedAt))
        .slice(0, limit);
      for (const e of doomed) removeExecution(e);
      return doomed.length;
    },
    async purgeBeyond(ownerId, workflowId, keep, limit) {
      const doomed = [...s.executions.values()]
        .filter((e) => e.ownerId === ownerId && e.workflowId === workflowId)
        .sort(newestFirstOrder)
        .slice(keep)
        .filter((e) => FINISHED_STATUSES.includes(e.status))
        .slice(0, limit);
      for (const e of doomed) removeExecution(e);
      return doomed.length;
    },
    async requeueDueRetries(limit) {
      const now = clock.now();
      const due = [...s.executions.values()]
        .filter((e) => e.status === 'pending_retry' && time(e.nextAttemptAt) <= now.getTime())
        .sort((a, b) => time(a.nextAttemptAt) - time(b.nextAttemptAt))
        .slice(0, limit);
      return due.map((e) => clone(update(e, { status: 'queued', attempt: e.attempt + 1, updatedAt: now }, ['nextAttemptAt'])));
    },
    async resumeDueWaits(limit) {
      const now = clock.now();
      const due = [...s.executions.values()]
        .filter((e) => e.status === 'waiting' && time(e.nextAttemptAt) <= now.getTime())
        .sort((a, b) => time(a.nextAttemptAt) - time(b.nextAttemptAt))
        .slice(0, limit);
      return due.map((e) => clone(update(e, { status: 'queued', updatedAt: now })));
    },
    async requeueExpiredLeases(limit) {
      const now = clock.now();
      const stuck = [...s.executions.values()]
        .filter((e) => e.status === 'running' && time(e.leaseUntil) <= now.getTime())
        .sort((a, b) => time(a.leaseUntil) - time(b.leaseUntil))
        .slice(0, limit);
      return stuck.map((e) => clone(update(e, { status: 'queued', updatedAt: now }, ['leaseUntil'])));
    },
    async requeueStaleQueued(queuedForMs, limit) {
      const now = clock.now();
      const queuedBefore = new Date(now.getTime() - queuedForMs);
      const unsent = new Set<string>(); // the outbox holds unpublished messages only
      for (const { event } of s.outbox.values()) unsent.add(`${event.data.executionId}#${event.data.attempt}`);
      const stale = [...s.executions.values()]
        .filter((e) => e.status === 'queued' && time(e.updatedAt) <= queuedBefore.getTime() && !unsent.has(`${e.executionId}#${e.attempt}`))
        .sort((a, b) => time(a.updatedAt) - time(b.updatedAt))
        .slice(0, limit);
      return stale.map((e) => clone(update(e, { updatedAt: now })));
    },
    async countByStatus() {
      const counts: Record<ExecutionStatus, number> = emptyStatusCounts();
      for (const [status, n] of s.executionsByStatus) counts[status] = n;
      return counts;
    },
  };

  const outbox: OutboxRepo = {
    async add(m) {
      if (s.outbox.has(m.id)) throw new ConflictError(`outbox message ${m.id} already exists`);
      put(j, s.outbox, m.id, clone(m));
    },
    async claimBatch(lockMs, limit) {
      const now = clock.now();
      const lockedUntil = leaseFrom(lockMs, now);
      const lockToken = newId();
      const messages: OutboxMessage[] = [];
      for (const m of s.outbox.values()) {
        if (messages.length >= limit) break;
        if (time(m.lockedUntil) > now.getTime()) continue;
        const { lockToken: _previous, ...message } = m;
        put(j, s.outbox, m.id, { ...message, lockedUntil, lockToken });
        messages.push(clone({ ...message, lockedUntil }));
      }
      return { lockToken, messages };
    },
    async markPublished(lockToken, ids) {
      const held = ids.filter((id) => s.outbox.get(id)?.lockToken === lockToken);
      // Published messages are of no further use to anyone; the durable stores purge them later.
      for (const id of held) del(j, s.outbox, id);
      return held.length;
    },
    async markFailed(lockToken, ids, error) {
      let released = 0;
      for (const id of ids) {
        const m = s.outbox.get(id);
        if (m?.lockToken !== lockToken) continue;
        const { lockedUntil: _until, lockToken: _token, ...unlocked } = m;
        put(j, s.outbox, id, { ...unlocked, attempts: m.attempts + 1, lastError: error });
        released += 1;
      }
      return released;
    },
    relay: (lockMs, limit, publish) => relayByLock(outbox, lockMs, limit, publish, () => clock.now()),
    async purgePublished() {
      return 0; // markPublished already dropped them
    },
    async backlog(now) {
      let oldest: number | undefined;
      for (const m of s.outbox.values()) {
        const t = m.createdAt.getTime();
        if (oldest === undefined || t < oldest) oldest = t;
      }
      return { count: s.outbox.size, oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now.getTime() - oldest) };
    },
  };

  const users: UserRepo = {
    async create(u) {
      if (s.emails.has(u.email)) throw new ConflictError('email is already registered', undefined, 'email_taken');
      put(j, s.users, u.userId, clone(u));
      put(j, s.emails, u.email, u.userId);
    },
    async findByEmail(email) {
      const id = s.emails.get(email);
      const u = id ? s.users.get(id) : undefined;
      return u ? clone(u) : null;
    },
    async findById(userId) {
      const u = s.users.get(userId);
      return u ? clone(u) : null;
    },
    async revokeSessions(userId) {
      const u = s.users.get(userId);
      if (!u) return null;
      put(j, s.users, userId, { ...u, sessionVersion: u.sessionVersion + 1 });
      return u.sessionVersion + 1;
    },
  };

  const idempotency: IdempotencyRepo = {
    async find(ownerId, k, notBefore) {
      const entry = s.idempotency.get(key(ownerId, k));
      return entry && entry.at.getTime() >= notBefore.getTime() ? entry.executionId : null;
    },
    async putIfAbsent(ownerId, k, executionId, at, notBefore) {
      const entry = s.idempotency.get(key(ownerId, k));
      if (entry && entry.at.getTime() >= notBefore.getTime()) return entry.executionId;
      put(j, s.idempotency, key(ownerId, k), { executionId, at });
      return executionId;
    },
    async purgeExpired(before, limit) {
      let purged = 0;
      for (const [k, entry] of s.idempotency) {
        if (purged >= limit) break;
        if (entry.at.getTime() >= before.getTime()) continue;
        del(j, s.idempotency, k);
        purged += 1;
      }
      return purged;
    },
  };

  const secrets: SecretRepo = {
    async put(secret) {
      const k = key(secret.ownerId, secret.name);
      const existing = s.secrets.get(k);
      put(j, s.secrets, k, clone(existing ? { ...secret, createdAt: existing.createdAt } : secret));
      return !existing;
    },
    async list(ownerId) {
      return [...s.secrets.values()]
        .filter((x) => x.ownerId === ownerId)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(({ name, createdAt, updatedAt }) => clone({ name, createdAt, updatedAt }));
    },
    async getMany(ownerId, names) {
      return names.flatMap((name) => {
        const found = s.secrets.get(key(ownerId, name));
        return found ? [clone(found)] : [];
      });
    },
    async delete(ownerId, name) {
      const k = key(ownerId, name);
      if (!s.secrets.has(k)) return false;
      del(j, s.secrets, k);
      return true;
    },
  };

  return { workflows, executions, outbox, users, idempotency, secrets };
}

/** Wraps every method of every repo so that it runs under the store's lock. */
function locked(repos: Repos, mutex: AsyncMutex): Repos {
  const wrap = <T extends object>(repo: T): T =>
    Object.fromEntries(
      Object.entries(repo).map(([name, fn]) => [name, (...args: unknown[]) => mutex.run(() => (fn as (...a: unknown[]) => unknown)(...args))]),
    ) as T;
  return {
    workflows: wrap(repos.workflows),
    executions: wrap(repos.executions),
    outbox: wrap(repos.outbox),
    users: wrap(repos.users),
    idempotency: wrap(repos.idempotency),
    secrets: wrap(repos.secrets),
  };
}

export interface MemoryStoreOptions extends StepBoundOptions {
  /** The store's clock, by which leases, locks and due times are judged (see ports/repos.ts); a test's fake clock. Default: the system clock. */
  clock?: Clock;
}

/**
 * The in-memory store: the same semantics as the durable ones, for unit tests and the
 * embedded mode. Operations are serialized; a unit of work holds the lock for its whole
 * duration and rolls every write back if it throws.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock;
  const state = new State();
  const mutex = new AsyncMutex();
  const maxStepOutputBytes = options.maxStepOutputBytes ?? DEFAULT_MAX_STEP_OUTPUT_BYTES;
  const repos = locked(makeRepos(state, null, clock, maxStepOutputBytes), mutex);
  // Not under the lock as a whole: the publish in between may need the store (the in-process bus delivers at once).
  repos.outbox.relay = (lockMs, limit, publish) => relayByLock(repos.outbox, lockMs, limit, publish, () => clock.now());
  return {
    kind: 'memory',
    ...repos,
    uow: {
      run: (work) =>
        mutex.run(async () => {
          const journal = new Journal();
          try {
            return await work(makeRepos(state, journal, clock, maxStepOutputBytes));
          } catch (err) {
            journal.rollback();
            throw err;
          }
        }),
    },
    async now() {
      return clock.now();
    },
    async init() {},
    async ping() {},
    async close() {},
  };
}
