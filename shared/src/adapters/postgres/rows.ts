import type { Execution, Step } from '../../domain/execution.js';
import type { OutboxMessage } from '../../domain/outbox.js';
import type { User } from '../../domain/user.js';
import type { StoredTrigger, Workflow } from '../../domain/workflow.js';
import { decodeUserJson, encodeUserJson } from '../user-json.js';

/*
 * User JSON (actions, trigger payloads, step outputs) is stored as JSON text inside the jsonb
 * columns (see ../user-json.ts): jsonb refuses "\u0000". A `json` column would keep it, but
 * changing the columns' type rewrites the tables under an exclusive lock; text needs no migration.
 */

export interface WorkflowRow {
  owner_id: string;
  workflow_id: string;
  name: string;
  enabled: boolean;
  trigger_spec: Record<string, unknown>;
  trigger_status: StoredTrigger['status'];
  trigger_execution_id: string | null;
  next_run_at: Date | null;
  lease_until: Date | null;
  hook_id: string | null;
  secret_hash: string | null;
  /** JSON text; an array in rows written before that. */
  actions: unknown;
  retry_policy: Workflow['retryPolicy'];
  retention: Workflow['retention'] | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

export interface ExecutionRow {
  execution_id: string;
  owner_id: string;
  workflow_id: string;
  workflow_version: number;
  /** JSON text; an array in rows written before that. */
  actions: unknown;
  retry_policy: Execution['retryPolicy'];
  /** `payload` is JSON text; an object in rows written before that. */
  trigger: { type: Execution['trigger']['type']; firedAt: string; scheduledFor?: string; payload?: unknown };
  status: Execution['status'];
  attempt: number;
  retries_left: number;
  next_attempt_at: Date | null;
  lease_until: Date | null;
  steps: (Omit<Step, 'startedAt' | 'finishedAt'> & { startedAt?: string; finishedAt?: string })[];
  error: string | null;
  idempotency_key: string | null;
  rerun_of: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface OutboxRow {
  seq: string;
  id: string;
  topic: string;
  key: string;
  event: OutboxMessage['event'];
  created_at: Date;
  published_at: Date | null;
  attempts: number;
  last_error: string | null;
  locked_until: Date | null;
  lock_token: string | null;
}

export interface UserRow {
  user_id: string;
  email: string;
  password_hash: string;
  created_at: Date;
  session_version: number;
}

/** Adds `key: value` only when the value is present, so absent fields stay absent (as in memory). */
const opt = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
const date = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso));

export function toWorkflow(row: WorkflowRow): Workflow {
  const trigger = {
    ...row.trigger_spec,
    status: row.trigger_status,
    ...opt('executionId', row.trigger_execution_id),
    ...opt('nextRunAt', row.next_run_at),
    ...opt('leaseUntil', row.lease_until),
    ...opt('hookId', row.hook_id),
    ...opt('secretHash', row.secret_hash),
  } as StoredTrigger;
  return {
    workflowId: row.workflow_id,
    ownerId: row.owner_id,
    name: row.name,
    enabled: row.enabled,
    trigger,
    actions: decodeUserJson(row.actions),
    retryPolicy: row.retry_policy,
    ...opt('retention', row.retention),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

/** The trigger as the user wrote it: what is not state kept in columns of its own. */
export function triggerSpec(trigger: StoredTrigger): Record<string, unknown> {
  const { status: _s, executionId: _e, nextRunAt: _n, leaseUntil: _l, hookId: _h, secretHash: _x, ...spec } = trigger;
  return spec;
}

export function stepToRow(step: Step): ExecutionRow['steps'][number] {
  const { startedAt, finishedAt, output, ...rest } = step;
  return {
    ...rest,
    ...(output === undefined ? {} : { output: encodeUserJson(output) }),
    ...opt('startedAt', startedAt?.toISOString()),
    ...opt('finishedAt', finishedAt?.toISOString()),
  };
}

/** The trigger column: times as ISO text, the payload as JSON text. */
export function triggerToRow({ firedAt, scheduledFor, payload, ...rest }: Execution['trigger']): ExecutionRow['trigger'] {
  return {
    ...rest,
    firedAt: firedAt.toISOString(),
    ...opt('scheduledFor', scheduledFor?.toISOString()),
    ...(payload === undefined ? {} : { payload: encodeUserJson(payload) }),
  };
}

export function toExecution(row: ExecutionRow): Execution {
  const { firedAt, scheduledFor, payload, ...trigger } = row.trigger;
  return {
    executionId: row.execution_id,
    workflowId: row.workflow_id,
    ownerId: row.owner_id,
    workflowVersion: row.workflow_version,
    actions: decodeUserJson(row.actions),
    retryPolicy: row.retry_policy,
    trigger: {
      ...trigger,
      firedAt: new Date(firedAt),
      ...opt('scheduledFor', date(scheduledFor)),
      ...(payload === undefined ? {} : { payload: decodeUserJson(payload) }),
    },
    status: row.status,
    attempt: row.attempt,
    retriesLeft: row.retries_left,
    ...opt('nextAttemptAt', row.next_attempt_at),
    ...opt('leaseUntil', row.lease_until),
    steps: row.steps.map(({ startedAt, finishedAt, output, ...s }) => ({
      ...s,
      ...(output === undefined ? {} : { output: decodeUserJson(output) }),
      ...opt('startedAt', date(startedAt)),
      ...opt('finishedAt', date(finishedAt)),
    })),
    ...opt('error', row.error),
    ...opt('idempotencyKey', row.idempotency_key),
    ...opt('rerunOf', row.rerun_of),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...opt('startedAt', row.started_at),
    ...opt('finishedAt', row.finished_at),
  };
}

export function toOutbox(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    topic: row.topic,
    key: row.key,
    event: row.event,
    createdAt: row.created_at,
    attempts: row.attempts,
    ...opt('publishedAt', row.published_at),
    ...opt('lastError', row.last_error),
    ...opt('lockedUntil', row.locked_until),
  };
}

export function toUser(row: UserRow): User {
  return { userId: row.user_id, email: row.email, passwordHash: row.password_hash, createdAt: row.created_at, sessionVersion: row.session_version };
}
