import { decodeUserJson, encodeUserJson } from '../user-json.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { TRIGGER_SPEC_FIELDS, type StoredTrigger, type Workflow } from '../../domain/workflow.js';
import type { ExecutionRepo, OutboxRepo, WorkflowRepo } from '../../ports/repos.js';
import { decodeCursor, toPage } from '../cursor.js';
import { acceptRunsInOrder } from '../in-order.js';
import { claimInBatch, notAfter, type MongoContext } from './connection.js';
import { collidedOn, throwIfDuplicate } from './errors.js';
import { compact, INDEX, type WorkflowDoc } from './schema.js';

// The mappers: a domain object in, a document out, and back: no `_id`, no bookkeeping.
export const toWorkflowDoc = ({ actions, ...rest }: Workflow): Omit<WorkflowDoc, '_id'> => compact({ ...rest, actions: encodeUserJson(actions) });
export const toWorkflow = ({ _id, claimToken: _claimToken, actions, ...rest }: WorkflowDoc): Workflow => ({ ...rest, actions: decodeUserJson(actions) });

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

export function createWorkflowRepo(ctx: MongoContext, others: { executions: ExecutionRepo; outbox: OutboxRepo }): WorkflowRepo {
  const { models, serverNow, session, transaction, opts } = ctx;
  const { executions, outbox } = others;

  const workflows: WorkflowRepo = {
    async create(wf) {
      await throwIfDuplicate(
        () => models.Workflow.insertOne(toWorkflowDoc(wf), opts),
        (dup) => (collidedOn(dup, INDEX.hookId, 'trigger.hookId') ? hookInUse() : new ConflictError(`workflow "${wf.workflowId}" already exists`, undefined, 'workflow_exists')),
      );
    },
    async get(ownerId, workflowId) {
      const doc = await models.Workflow.findOne({ ownerId, workflowId }, null, opts).lean<WorkflowDoc>();
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
      const docs = await models.Workflow.find(filter, null, opts).sort({ workflowId: 1 }).limit(page.limit + 1).lean<WorkflowDoc[]>();
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
        () => models.Workflow.updateOne({ ...stored, ...sameSpec }, update(definitionFields.filter((f) => f !== 'nextRunAt')), opts),
        hookInUse,
      );
      if (result.matchedCount === 0) result = await throwIfDuplicate(() => models.Workflow.updateOne(stored, update(definitionFields), opts), hookInUse);
      if (result.matchedCount > 0) return;
      const current = await models.Workflow.findOne({ ownerId, workflowId }, { version: 1 }, opts).lean<Pick<WorkflowDoc, 'version'>>();
      if (!current) throw new NotFoundError(`workflow "${workflowId}" not found`);
      throw new ConflictError('workflow was changed concurrently', { currentVersion: current.version }, 'version_conflict');
    },
    async delete(ownerId, workflowId) {
      return (await models.Workflow.deleteOne({ ownerId, workflowId }, opts)).deletedCount > 0;
    },
    async findByHookId(hookId) {
      const doc = await models.Workflow.findOne({ 'trigger.hookId': hookId }, null, opts).lean<WorkflowDoc>();
      return doc ? toWorkflow(doc) : null;
    },
    async setTriggerStatus(ownerId, workflowId, executionId, from, to, at) {
      const result = await models.Workflow.updateOne(
        // Free (no holder: `null` matches an absent field) or held by this run.
        { ownerId, workflowId, 'trigger.status': { $in: [...from] }, 'trigger.executionId': { $in: [executionId, null] } },
        to === 'idle'
          ? { $set: { 'trigger.status': to, updatedAt: at }, $unset: { 'trigger.executionId': '' } }
          : { $set: { 'trigger.status': to, 'trigger.executionId': executionId, updatedAt: at } },
        opts,
      );
      return result.matchedCount > 0;
    },
    async acceptRun(execution, request, asRead) {
      // Three writes: atomic in the caller's transaction, or else in one of their own.
      if (!session) {
        if (!transaction) throw new Error('acceptRun outside a unit of work needs a transaction runner');
        return transaction((tx) => tx.workflows.acceptRun(execution, request, asRead));
      }
      const { ownerId, workflowId, executionId, createdAt } = execution;
      const result = await models.Workflow.updateOne(
        {
          ownerId,
          workflowId,
          'trigger.status': 'idle',
          'trigger.executionId': { $in: [executionId, null] },
          ...(asRead === undefined ? {} : { version: asRead.version, createdAt: asRead.createdAt }),
        },
        { $set: { 'trigger.status': 'busy', 'trigger.executionId': executionId, updatedAt: createdAt } },
        opts,
      );
      if (result.matchedCount === 0) return false;
      await executions.insert(execution);
      await outbox.add(request);
      return true;
    },
    async acceptRuns(accepts) {
      // All in one transaction: one commit for the batch, and a refused insert undoes all of it.
      if (!session) {
        if (!transaction) throw new Error('acceptRuns outside a unit of work needs a transaction runner');
        return transaction((tx) => tx.workflows.acceptRuns(accepts));
      }
      return acceptRunsInOrder(workflows, accepts);
    },
    async claimDueScheduled(leaseMs, limit) {
      const now = await serverNow();
      const claimed = await claimInBatch(
        models.Workflow,
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
      const doc = await models.Workflow.findOne({ enabled: true, 'trigger.nextRunAt': { $exists: true, $gt: after } }, { 'trigger.nextRunAt': 1 }, opts)
        .sort({ 'trigger.nextRunAt': 1 })
        .lean<Pick<WorkflowDoc, 'trigger'>>();
      return doc?.trigger.nextRunAt ?? null;
    },
    async withRunLimit(after, limit) {
      if (limit <= 0) return [];
      const past = after
        ? { $or: [{ ownerId: { $gt: after.ownerId } }, { ownerId: after.ownerId, workflowId: { $gt: after.workflowId } }] }
        : {};
      const docs = await models.Workflow.find({ 'retention.maxRuns': { $exists: true }, ...past }, { ownerId: 1, workflowId: 1, retention: 1 }, opts)
        .sort({ ownerId: 1, workflowId: 1 })
        .limit(limit)
        .lean<Pick<WorkflowDoc, 'ownerId' | 'workflowId' | 'retention'>[]>();
      return docs.map((d) => ({ ownerId: d.ownerId, workflowId: d.workflowId, maxRuns: d.retention!.maxRuns }));
    },
    async advanceSchedule(ownerId, workflowId, dueAt, nextRunAt) {
      const result = await models.Workflow.updateOne(
        { ownerId, workflowId, 'trigger.nextRunAt': dueAt },
        nextRunAt
          ? { $set: { 'trigger.nextRunAt': nextRunAt }, $unset: { 'trigger.leaseUntil': '' } }
          : { $unset: { 'trigger.nextRunAt': '', 'trigger.leaseUntil': '' } },
        opts,
      );
      return result.matchedCount > 0;
    },
  };
  return workflows;
}
