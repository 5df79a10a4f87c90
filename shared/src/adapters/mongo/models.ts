import mongoose, { type Connection, type Model } from 'mongoose';
import type { Execution } from '../../domain/execution.js';
import type { OutboxMessage } from '../../domain/outbox.js';
import type { User } from '../../domain/user.js';
import type { Workflow } from '../../domain/workflow.js';

/*
 * Documents keep the domain's field names. Where the domain has a single natural key it is
 * the `_id` (executions: executionId, outbox: id, users: userId), so lookups by id use the
 * primary index and no second unique index is needed; workflows and idempotency keys have
 * compound natural keys, kept as unique indexes, and an ObjectId `_id` that nobody reads.
 */
export type WorkflowDoc = Workflow & { _id: mongoose.Types.ObjectId };
export type ExecutionDoc = Omit<Execution, 'executionId'> & { _id: string };
/** `published` exists for the partial index: MongoDB cannot index "publishedAt is absent". */
export type OutboxDoc = Omit<OutboxMessage, 'id'> & { _id: string; published: boolean };
export type UserDoc = Omit<User, 'userId'> & { _id: string };
export interface IdempotencyDoc {
  ownerId: string;
  key: string;
  executionId: string;
  createdAt: Date;
}

/** Names of the unique indexes whose collisions mean different conflicts. */
export const INDEX = { hookId: 'hook_unique', email: 'email_unique' } as const;

/** How long a published outbox message may linger if nobody purges it (the relay purges after an hour by default). */
export const PUBLISHED_OUTBOX_TTL_SECONDS = 24 * 3600;

/**
 * A copy without `undefined` properties, at any depth. The driver would store them as null
 * (we keep its default, so that an `undefined` in a *filter* matches nothing rather than
 * being dropped and matching everything); the memory store simply has no such field.
 */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (value === null || typeof value !== 'object') return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Date, ObjectId, ...
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, compact(v)]),
  ) as T;
}

// The mappers: a domain object in, a document out, and back: no `_id`, no bookkeeping.
export const toWorkflowDoc = (workflow: Workflow): Workflow => compact(workflow);
export const toWorkflow = ({ _id, ...workflow }: WorkflowDoc): Workflow => workflow;
export const toExecutionDoc = ({ executionId, ...rest }: Execution): ExecutionDoc => compact({ _id: executionId, ...rest });
export const toExecution = ({ _id, ...rest }: ExecutionDoc): Execution => ({ executionId: _id, ...rest });
export const toOutboxDoc = ({ id, ...rest }: OutboxMessage): OutboxDoc => compact({ _id: id, ...rest, published: false });
export const toOutbox = ({ _id, published: _published, ...rest }: OutboxDoc): OutboxMessage => ({ id: _id, ...rest });
export const toUserDoc = ({ userId, ...rest }: User): UserDoc => compact({ _id: userId, ...rest });
export const toUser = ({ _id, ...rest }: UserDoc): User => ({ userId: _id, ...rest });

const { Schema } = mongoose;
const { Mixed } = Schema.Types;

/*
 * Every top-level field is declared (`satisfies` makes the compiler check the list is
 * complete), and `strict: 'throw'` turns a write of any other field into an error instead of
 * silently dropping it. Nested, already-validated JSON (triggers, actions, steps, events) is
 * Mixed, which mongoose stores as given. `minimize: false` keeps empty objects (`payload: {}`),
 * as the memory store does.
 */
const options = { versionKey: false, minimize: false, strict: 'throw' } as const;

const workflowFields = {
  workflowId: String,
  ownerId: String,
  name: String,
  enabled: Boolean,
  trigger: Mixed,
  actions: Mixed,
  retryPolicy: Mixed,
  createdAt: Date,
  updatedAt: Date,
  version: Number,
} satisfies Record<keyof Workflow, unknown>;

const executionFields = {
  _id: String,
  workflowId: String,
  ownerId: String,
  workflowVersion: Number,
  actions: Mixed,
  retryPolicy: Mixed,
  trigger: Mixed,
  status: String,
  attempt: Number,
  retriesLeft: Number,
  nextAttemptAt: Date,
  leaseUntil: Date,
  steps: Mixed,
  error: String,
  idempotencyKey: String,
  createdAt: Date,
  updatedAt: Date,
  startedAt: Date,
  finishedAt: Date,
} satisfies Record<keyof ExecutionDoc, unknown>;

const outboxFields = {
  _id: String,
  topic: String,
  key: String,
  event: Mixed,
  createdAt: Date,
  publishedAt: Date,
  published: Boolean,
  attempts: Number,
  lastError: String,
  lockedUntil: Date,
} satisfies Record<keyof OutboxDoc, unknown>;

const userFields = {
  _id: String,
  email: String,
  passwordHash: String,
  createdAt: Date,
} satisfies Record<keyof UserDoc, unknown>;

const idempotencyFields = {
  ownerId: String,
  key: String,
  executionId: String,
  createdAt: Date,
} satisfies Record<keyof IdempotencyDoc, unknown>;

function workflowSchema() {
  const schema = new Schema<WorkflowDoc>(workflowFields, options);
  schema.index({ ownerId: 1, workflowId: 1 }, { unique: true, name: 'owner_workflow_unique' });
  schema.index({ 'trigger.hookId': 1 }, { unique: true, sparse: true, name: INDEX.hookId });
  schema.index(
    { enabled: 1, 'trigger.nextRunAt': 1 },
    { partialFilterExpression: { enabled: true, 'trigger.nextRunAt': { $exists: true } }, name: 'scheduled_due' },
  );
  return schema;
}

function executionSchema() {
  const schema = new Schema<ExecutionDoc>(executionFields, options);
  schema.index({ ownerId: 1, workflowId: 1, createdAt: -1, _id: -1 }, { name: 'history' });
  schema.index({ status: 1, nextAttemptAt: 1 }, { partialFilterExpression: { status: 'pending_retry' }, name: 'retries_due' });
  schema.index({ status: 1, leaseUntil: 1 }, { partialFilterExpression: { status: 'running' }, name: 'running_by_lease' });
  schema.index({ status: 1 }, { name: 'by_status' }); // countByStatus (metrics) counts on the index
  return schema;
}

function outboxSchema() {
  const schema = new Schema<OutboxDoc>(outboxFields, options);
  schema.index({ createdAt: 1, _id: 1 }, { partialFilterExpression: { published: false }, name: 'unpublished_by_age' });
  // The purge backstop: published messages go away even if no relay ever purges them.
  schema.index({ publishedAt: 1 }, { expireAfterSeconds: PUBLISHED_OUTBOX_TTL_SECONDS, name: 'published_ttl' });
  return schema;
}

function userSchema() {
  const schema = new Schema<UserDoc>(userFields, options);
  schema.index({ email: 1 }, { unique: true, name: INDEX.email });
  return schema;
}

function idempotencySchema() {
  const schema = new Schema<IdempotencyDoc>(idempotencyFields, options);
  schema.index({ ownerId: 1, key: 1 }, { unique: true, name: 'owner_key_unique' });
  return schema;
}

/*
 * Index names (and the TTL) match those of the store's first version wherever the key pattern
 * is the same, so init() never meets "same index, other name/options" on a database that
 * version initialized; createIndexes never drops anything.
 */
export interface Models {
  Workflow: Model<WorkflowDoc>;
  Execution: Model<ExecutionDoc>;
  Outbox: Model<OutboxDoc>;
  User: Model<UserDoc>;
  Idempotency: Model<IdempotencyDoc>;
}

/** The models, registered on `conn` only (never on mongoose's global connection). */
export function createModels(conn: Connection): Models {
  return {
    Workflow: conn.model<WorkflowDoc>('Workflow', workflowSchema(), 'workflows'),
    Execution: conn.model<ExecutionDoc>('Execution', executionSchema(), 'executions'),
    Outbox: conn.model<OutboxDoc>('Outbox', outboxSchema(), 'outbox'),
    User: conn.model<UserDoc>('User', userSchema(), 'users'),
    Idempotency: conn.model<IdempotencyDoc>('Idempotency', idempotencySchema(), 'idempotency_keys'),
  };
}
