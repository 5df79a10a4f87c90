import mongoose, { Schema, type Connection } from 'mongoose';
import type { Execution, OutboxMessage, User, Workflow } from '../../index.js';

/**
 * Documents keep the domain's field names; `_id` is the natural key where there is one
 * (executionId, outbox id, userId) so lookups by id hit the primary index. Schemas are
 * loose on nested, already-validated JSON (actions, steps, trigger payloads).
 */
const options = { versionKey: false, minimize: false, strict: false } as const;

export type WorkflowDoc = Workflow;
export type ExecutionDoc = Execution & { _id: string };
export type OutboxDoc = OutboxMessage & { _id: string; seq: number };
export type UserDoc = User & { _id: string };
export interface IdempotencyDoc {
  ownerId: string;
  key: string;
  executionId: string;
  createdAt: Date;
}
export interface CounterDoc {
  _id: string;
  value: number;
}

export function models(conn: Connection) {
  const workflows = new Schema<WorkflowDoc>(
    {
      workflowId: { type: String, required: true },
      ownerId: { type: String, required: true },
      name: String,
      enabled: Boolean,
      trigger: { type: Schema.Types.Mixed, required: true },
      actions: Schema.Types.Mixed,
      retryPolicy: Schema.Types.Mixed,
      createdAt: Date,
      updatedAt: Date,
      version: Number,
    },
    options,
  );
  workflows.index({ ownerId: 1, workflowId: 1 }, { unique: true, name: 'owner_workflow_unique' });
  workflows.index({ 'trigger.hookId': 1 }, { unique: true, sparse: true, name: 'hook_unique' });
  workflows.index({ 'trigger.nextRunAt': 1 }, { partialFilterExpression: { enabled: true, 'trigger.nextRunAt': { $exists: true } }, name: 'due_scheduled' });

  const executions = new Schema<ExecutionDoc>({ _id: String, ownerId: String, workflowId: String, status: String, createdAt: Date }, options);
  executions.index({ ownerId: 1, workflowId: 1, createdAt: -1, _id: -1 }, { name: 'history' });
  executions.index({ nextAttemptAt: 1 }, { partialFilterExpression: { status: 'pending_retry' }, name: 'due_retries' });
  executions.index({ leaseUntil: 1 }, { partialFilterExpression: { status: 'running' }, name: 'running_leases' });
  executions.index({ status: 1 }, { name: 'by_status' });

  const outbox = new Schema<OutboxDoc>({ _id: String, seq: Number, createdAt: Date, publishedAt: Date }, options);
  outbox.index({ seq: 1 }, { partialFilterExpression: { published: false }, name: 'unpublished' });
  // The purge backstop: published messages disappear after a day even if nobody purges them.
  outbox.index({ publishedAt: 1 }, { expireAfterSeconds: 86_400, name: 'published_ttl' });

  const users = new Schema<UserDoc>({ _id: String, email: { type: String, required: true } }, options);
  users.index({ email: 1 }, { unique: true, name: 'email_unique' });

  const idempotency = new Schema<IdempotencyDoc>({ ownerId: String, key: String, executionId: String, createdAt: Date }, options);
  idempotency.index({ ownerId: 1, key: 1 }, { unique: true, name: 'owner_key_unique' });

  const counters = new Schema<CounterDoc>({ _id: String, value: Number }, options);

  return {
    Workflow: conn.model<WorkflowDoc>('Workflow', workflows, 'workflows'),
    Execution: conn.model<ExecutionDoc>('Execution', executions, 'executions'),
    Outbox: conn.model<OutboxDoc>('Outbox', outbox, 'outbox'),
    User: conn.model<UserDoc>('User', users, 'users'),
    Idempotency: conn.model<IdempotencyDoc>('Idempotency', idempotency, 'idempotency_keys'),
    Counter: conn.model<CounterDoc>('Counter', counters, 'counters'),
  };
}

export type Models = ReturnType<typeof models>;
export { mongoose };
