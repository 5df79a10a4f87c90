import { ConflictError, NotFoundError } from '../../errors.js';
import { sameRevision, sameTriggerSpec, type StoredTrigger } from '../../domain/workflow.js';
import type { ExecutionRepo, OutboxRepo, RunAcceptance, WorkflowRepo } from '../../ports/repos.js';
import { decodeCursor } from '../cursor.js';
import { acceptRunsInOrder } from '../in-order.js';
import { clone, del, key, paginate, put, time, type MemoryContext } from './schema.js';

const hookInUse = () => new ConflictError('hook id already in use', undefined, 'hook_conflict');

export function createWorkflowRepo(ctx: MemoryContext, others: { executions: ExecutionRepo; outbox: OutboxRepo }): WorkflowRepo {
  const { state, journal, clock, leaseFrom } = ctx;
  const { executions, outbox } = others;

  /**
   * Refuses runs whose execution or message id is stored already, or given twice: checked
   * before anything is written, since outside a unit of work there is no journal to undo with.
   */
  const refuseTaken = (accepts: readonly Pick<RunAcceptance, 'execution' | 'request'>[]) => {
    const executionIds = new Set<string>();
    const messageIds = new Set<string>();
    for (const { execution, request } of accepts) {
      if (state.executions.has(execution.executionId) || executionIds.has(execution.executionId)) throw new ConflictError(`execution ${execution.executionId} already exists`);
      if (state.outbox.has(request.id) || messageIds.has(request.id)) throw new ConflictError(`outbox message ${request.id} already exists`);
      executionIds.add(execution.executionId);
      messageIds.add(request.id);
    }
  };
  const workflows: WorkflowRepo = {
    async create(wf) {
      const workflowKey = key(wf.ownerId, wf.workflowId);
      if (state.workflows.has(workflowKey)) throw new ConflictError(`workflow "${wf.workflowId}" already exists`, undefined, 'workflow_exists');
      if (wf.trigger.hookId && state.hooks.has(wf.trigger.hookId)) throw hookInUse();
      put(journal, state.workflows, workflowKey, clone(wf));
      if (wf.trigger.hookId) put(journal, state.hooks, wf.trigger.hookId, workflowKey);
    },
    async get(ownerId, workflowId) {
      const wf = state.workflows.get(key(ownerId, workflowId));
      return wf ? clone(wf) : null;
    },
    async list(ownerId, page, idPrefix) {
      const mine = [...state.workflows.values()]
        .filter((w) => w.ownerId === ownerId && (idPrefix === undefined || w.workflowId.startsWith(idPrefix)))
        .sort((a, b) => (a.workflowId < b.workflowId ? -1 : a.workflowId > b.workflowId ? 1 : 0));
      const result = paginate(mine, page, decodeCursor, (w, c) => w.workflowId > c, (w) => w.workflowId);
      return { ...result, items: result.items.map(clone) };
    },
    async replace(wf, expectedVersion) {
      const workflowKey = key(wf.ownerId, wf.workflowId);
      const current = state.workflows.get(workflowKey);
      if (!current) throw new NotFoundError(`workflow "${wf.workflowId}" not found`);
      if (current.version !== expectedVersion) {
        throw new ConflictError('workflow was changed concurrently', { currentVersion: current.version }, 'version_conflict');
      }
      const newHook = wf.trigger.hookId;
      if (newHook && newHook !== current.trigger.hookId && state.hooks.has(newHook)) throw hookInUse();
      if (current.trigger.hookId && current.trigger.hookId !== newHook) del(journal, state.hooks, current.trigger.hookId);
      if (newHook) put(journal, state.hooks, newHook, workflowKey);
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
      put(journal, state.workflows, workflowKey, { ...clone(wf), trigger });
    },
    async delete(ownerId, workflowId) {
      const workflowKey = key(ownerId, workflowId);
      const current = state.workflows.get(workflowKey);
      if (!current) return false;
      if (current.trigger.hookId) del(journal, state.hooks, current.trigger.hookId);
      del(journal, state.workflows, workflowKey);
      return true;
    },
    async findByHookId(hookId) {
      const workflowKey = state.hooks.get(hookId);
      const wf = workflowKey ? state.workflows.get(workflowKey) : undefined;
      return wf ? clone(wf) : null;
    },
    async setTriggerStatus(ownerId, workflowId, executionId, from, to, at) {
      const workflowKey = key(ownerId, workflowId);
      const wf = state.workflows.get(workflowKey);
      const holder = wf?.trigger.executionId;
      if (!wf || !from.includes(wf.trigger.status) || (holder !== undefined && holder !== executionId)) return false;
      const trigger: StoredTrigger = { ...wf.trigger, status: to, executionId };
      if (to === 'idle') delete trigger.executionId;
      put(journal, state.workflows, workflowKey, { ...wf, trigger, updatedAt: at });
      return true;
    },
    async acceptRun(execution, request, asRead) {
      refuseTaken([{ execution, request }]);
      const wf = state.workflows.get(key(execution.ownerId, execution.workflowId));
      if (asRead !== undefined && !(wf && sameRevision(wf, asRead))) return false;
      if (!(await workflows.setTriggerStatus(execution.ownerId, execution.workflowId, execution.executionId, ['idle'], 'busy', execution.createdAt))) return false;
      await executions.insert(execution);
      await outbox.add(request);
      return true;
    },
    async acceptRuns(accepts) {
      refuseTaken(accepts);
      return acceptRunsInOrder(workflows, accepts);
    },
    async nextDueAt(after) {
      let earliest: Date | null = null;
      for (const workflow of state.workflows.values()) {
        const at = workflow.trigger.nextRunAt;
        if (workflow.enabled && at && at > after && (!earliest || at < earliest)) earliest = at;
      }
      return earliest ? new Date(earliest) : null;
    },
    async withRunLimit(after, limit) {
      const order = (w: { ownerId: string; workflowId: string }) => key(w.ownerId, w.workflowId);
      return [...state.workflows.values()]
        .filter((w) => w.retention?.maxRuns !== undefined && (after === undefined || order(w) > order(after)))
        .sort((a, b) => (order(a) < order(b) ? -1 : 1))
        .slice(0, limit)
        .map((w) => ({ ownerId: w.ownerId, workflowId: w.workflowId, maxRuns: w.retention!.maxRuns }));
    },
    async claimDueScheduled(leaseMs, limit) {
      const now = clock.now();
      const due = [...state.workflows.entries()]
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
      return due.map(([workflowKey, workflow]) => {
        const claimed = { ...workflow, trigger: { ...workflow.trigger, leaseUntil } };
        put(journal, state.workflows, workflowKey, claimed);
        return clone(claimed);
      });
    },
    async advanceSchedule(ownerId, workflowId, dueAt, nextRunAt) {
      const workflowKey = key(ownerId, workflowId);
      const wf = state.workflows.get(workflowKey);
      if (!wf || time(wf.trigger.nextRunAt) !== dueAt.getTime()) return false;
      const trigger = { ...wf.trigger };
      delete trigger.leaseUntil;
      if (nextRunAt) trigger.nextRunAt = nextRunAt;
      else delete trigger.nextRunAt;
      put(journal, state.workflows, workflowKey, { ...wf, trigger });
      return true;
    },
  };
  return workflows;
}
