import mongoose, { type Connection, type Model } from 'mongoose';
import type { AttemptRecord, Execution, ExecutionTrigger, Step } from '../../domain/execution.js';
import type { OutboxMessage } from '../../domain/outbox.js';
import type { StoredSecret } from '../../domain/secret.js';
import type { User } from '../../domain/user.js';
import type { Workflow } from '../../domain/workflow.js';

/*
 * Documents keep the domain's field names. Where the domain has a single natural key it is
 * the `_id` (executions: executionId, outbox: id, users: userId), so lookups by id use the
 * primary index and no second unique index is needed; workflows and idempotency keys have
 * compound natural keys, kept as unique indexes, and an ObjectId `_id` that nobody reads.
 * User JSON (actions, trigger payloads, step outputs) is JSON text: see ../user-json.ts.
 * `claimToken` marks the documents one batch claim took, so that it can read them back; on the
 * outbox it is also the lock token that markPublished and markFailed check (OutboxRepo.claimBatch).
 */
export type WorkflowDoc = Omit<Workflow, 'actions'> & { _id: mongoose.Types.ObjectId; actions: string; claimToken?: string };
export type StepDoc = Omit<Step, 'output'> & { output?: string };
/** An earlier attempt as the update pipeline that writes it builds it (`startedAt` null when no step ran). */
export type AttemptDoc = Omit<AttemptRecord, 'steps' | 'startedAt'> & { startedAt?: Date | null; steps: StepDoc[] };
export type ExecutionDoc = Omit<Execution, 'executionId' | 'actions' | 'trigger' | 'steps' | 'attempts'> & {
  _id: string;
  actions: string;
  trigger: Omit<ExecutionTrigger, 'payload'> & { payload?: string };
  steps: StepDoc[];
  attempts?: AttemptDoc[];
  claimToken?: string;
};
/** `published` exists for the partial index: MongoDB cannot index "publishedAt is absent". */
export type OutboxDoc = Omit<OutboxMessage, 'id'> & { _id: string; published: boolean; claimToken?: string };
export type UserDoc = Omit<User, 'userId'> & { _id: string };
export interface IdempotencyDoc {
  ownerId: string;
  key: string;
  executionId: string;
  createdAt: Date;
}

export type SecretDoc = StoredSecret;

/** Names of the unique indexes whose collisions mean different conflicts. */
export const INDEX = { hookId: 'hook_unique', email: 'email_unique' } as const;

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

const { Schema } = mongoose;
const { Mixed } = Schema.Types;

/*
 * Every top-level field is declared (`satisfies` makes the compiler check the list is
 * complete), and `strict: 'throw'` turns a write of any other field into an error instead of
 * silently dropping it. Nested, already-validated structures (triggers, steps, events) are
 * Mixed, which mongoose stores as given; user JSON inside them is text (see ../user-json.ts).
 * Action lists are text too, but declared Mixed: documents written before that hold arrays. `minimize: false` keeps empty objects (`payload: {}`),
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
  retention: Mixed,
  createdAt: Date,
  updatedAt: Date,
  version: Number,
  claimToken: String,
} satisfies Record<keyof Omit<WorkflowDoc, '_id'>, unknown>;

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
  attempts: Mixed,
  error: String,
  idempotencyKey: String,
  rerunOf: String,
  createdAt: Date,
  updatedAt: Date,
  startedAt: Date,
  finishedAt: Date,
  claimToken: String,
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
  claimToken: String,
} satisfies Record<keyof OutboxDoc, unknown>;

const userFields = {
  _id: String,
  email: String,
  passwordHash: String,
  createdAt: Date,
  // Users created before sessions could be revoked have none: version 0.
  sessionVersion: { type: Number, default: 0 },
} satisfies Record<keyof UserDoc, unknown>;

const idempotencyFields = {
  ownerId: String,
  key: String,
  executionId: String,
  createdAt: Date,
} satisfies Record<keyof IdempotencyDoc, unknown>;

const secretFields = {
  ownerId: String,
  name: String,
  ciphertext: String,
  createdAt: Date,
  updatedAt: Date,
} satisfies Record<keyof SecretDoc, unknown>;

function workflowSchema() {
  const schema = new Schema<WorkflowDoc>(workflowFields, options);
  schema.index({ ownerId: 1, workflowId: 1 }, { unique: true, name: 'owner_workflow_unique' });
  schema.index({ 'trigger.hookId': 1 }, { unique: true, sparse: true, name: INDEX.hookId });
  schema.index(
    { enabled: 1, 'trigger.nextRunAt': 1 },
    { partialFilterExpression: { enabled: true, 'trigger.nextRunAt': { $exists: true } }, name: 'scheduled_due' },
  );
  // The workflows the retention job trims to their newest runs.
  schema.index({ ownerId: 1, workflowId: 1 }, { partialFilterExpression: { 'retention.maxRuns': { $exists: true } }, name: 'run_limit' });
  return schema;
}

function executionSchema() {
  const schema = new Schema<ExecutionDoc>(executionFields, options);
  schema.index({ ownerId: 1, workflowId: 1, createdAt: -1, _id: -1 }, { name: 'history' });
  schema.index({ ownerId: 1, createdAt: -1, _id: -1 }, { name: 'owner_runs' }); // run lists across workflows, the overview's window
  schema.index({ status: 1, nextAttemptAt: 1 }, { partialFilterExpression: { status: 'pending_retry' }, name: 'retries_due' });
  schema.index({ status: 1, leaseUntil: 1 }, { partialFilterExpression: { status: 'running' }, name: 'running_by_lease' });
  schema.index({ nextAttemptAt: 1 }, { partialFilterExpression: { status: 'waiting' }, name: 'waits_due' });
  // With the two above, what countByStatus counts exactly, on index keys only (see executions.ts).
  schema.index({ status: 1, updatedAt: 1 }, { partialFilterExpression: { status: 'queued' }, name: 'queued_since' });
  schema.index({ status: 1, finishedAt: 1 }, { partialFilterExpression: { status: 'failed' }, name: 'failed_by_time' });
  // Another key than failed_by_time's: MongoDB before 5.0 refuses two indexes on one key that differ only by their filter.
  schema.index({ status: 1, createdAt: 1 }, { partialFilterExpression: { status: 'cancelled' }, name: 'cancelled_by_creation' });
  // Retention: finished runs by finish time (only finished runs have one).
  schema.index({ finishedAt: 1 }, { partialFilterExpression: { finishedAt: { $exists: true } }, name: 'finished_by_time' });
  return schema;
}

function outboxSchema() {
  const schema = new Schema<OutboxDoc>(outboxFields, options);
  // Leads with the field every query on it filters by, so the planner uses it for the backlog
  // count too (an index whose keys a filter does not name is never considered for it).
  schema.index({ published: 1, createdAt: 1, _id: 1 }, { partialFilterExpression: { published: false }, name: 'unpublished_queue' });
  // Whether a run's request still waits to be published (requeueStaleQueued).
  schema.index({ 'event.data.executionId': 1 }, { partialFilterExpression: { published: false }, name: 'unpublished_by_execution' });
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

function secretSchema() {
  const schema = new Schema<SecretDoc>(secretFields, options);
  schema.index({ ownerId: 1, name: 1 }, { unique: true, name: 'owner_name_unique' });
  return schema;
}

/*
 * Index names match those of the store's first version wherever the key pattern is the same,
 * so init() never meets "same index, other name/options" on a database that version
 * initialized. An index whose key changed gets a new name; init() drops the old one (below).
 * TTL indexes are not declared here: init() keeps their expiry equal to the configured one.
 */
export const OBSOLETE_INDEXES = {
  // countByStatus now counts on partial indexes; every status change paid for this one.
  executions: ['by_status'],
  // Replaced by unpublished_queue, which leads with `published`.
  outbox: ['unpublished_by_age'],
} as const;

/** TTL indexes: published outbox messages and idempotency keys expire even if nothing purges them. */
export const TTL_INDEX = {
  publishedOutbox: { name: 'published_ttl', field: 'publishedAt' },
  idempotencyKeys: { name: 'created_ttl', field: 'createdAt' },
} as const;

/** The outbox TTL where no retention is configured (stores not opened by the scheduler, whose relay purges). */
export const DEFAULT_PUBLISHED_OUTBOX_TTL_SECONDS = 24 * 3600;

export interface Models {
  Workflow: Model<WorkflowDoc>;
  Execution: Model<ExecutionDoc>;
  Outbox: Model<OutboxDoc>;
  User: Model<UserDoc>;
  Idempotency: Model<IdempotencyDoc>;
  Secret: Model<SecretDoc>;
}

/** The models, registered on `conn` only (never on mongoose's global connection). */
export function createModels(conn: Connection): Models {
  return {
    Workflow: conn.model<WorkflowDoc>('Workflow', workflowSchema(), 'workflows'),
    Execution: conn.model<ExecutionDoc>('Execution', executionSchema(), 'executions'),
    Outbox: conn.model<OutboxDoc>('Outbox', outboxSchema(), 'outbox'),
    User: conn.model<UserDoc>('User', userSchema(), 'users'),
    Idempotency: conn.model<IdempotencyDoc>('Idempotency', idempotencySchema(), 'idempotency_keys'),
    Secret: conn.model<SecretDoc>('Secret', secretSchema(), 'secrets'),
  };
}
