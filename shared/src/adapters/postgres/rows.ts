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

export function toWorkflow(r: WorkflowRow): Workflow {
  const trigger = {
    ...r.trigger_spec,
    status: r.trigger_status,
    ...opt('executionId', r.trigger_execution_id),
    ...opt('nextRunAt', r.next_run_at),
    ...opt('leaseUntil', r.lease_until),
    ...opt('hookId', r.hook_id),
    ...opt('secretHash', r.secret_hash),
  } as StoredTrigger;
  return {
    workflowId: r.workflow_id,
    ownerId: r.owner_id,
    name: r.name,
    enabled: r.enabled,
    trigger,
    actions: decodeUserJson(r.actions),
    retryPolicy: r.retry_policy,
    ...opt('retention', r.retention),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
  };
}

/** The trigger as the user wrote it: what is not state kept in columns of its own. */
export function triggerSpec(t: StoredTrigger): Record<string, unknown> {
  const { status: _s, executionId: _e, nextRunAt: _n, leaseUntil: _l, hookId: _h, secretHash: _x, ...spec } = t;
  return spec;
}

export function stepToRow(s: Step): ExecutionRow['steps'][number] {
  const { startedAt, finishedAt, output, ...rest } = s;
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

export function toExecution(r: ExecutionRow): Execution {
  const { firedAt, scheduledFor, payload, ...trigger } = r.trigger;
  return {
    executionId: r.execution_id,
    workflowId: r.workflow_id,
    ownerId: r.owner_id,
    workflowVersion: r.workflow_version,
    actions: decodeUserJson(r.actions),
    retryPolicy: r.retry_policy,
    trigger: {
      ...trigger,
      firedAt: new Date(firedAt),
      ...opt('scheduledFor', date(scheduledFor)),
      ...(payload === undefined ? {} : { payload: decodeUserJson(payload) }),
    },
    status: r.status,
    attempt: r.attempt,
    retriesLeft: r.retries_left,
    ...opt('nextAttemptAt', r.next_attempt_at),
    ...opt('leaseUntil', r.lease_until),
    steps: r.steps.map(({ startedAt, finishedAt, output, ...s }) => ({
      ...s,
      ...(output === undefined ? {} : { output: decodeUserJson(output) }),
      ...opt('startedAt', date(startedAt)),
      ...opt('finishedAt', date(finishedAt)),
    })),
    ...opt('error', r.error),
    ...opt('idempotencyKey', r.idempotency_key),
    ...opt('rerunOf', r.rerun_of),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...opt('startedAt', r.started_at),
    ...opt('finishedAt', r.finished_at),
  };
}

export function toOutbox(r: OutboxRow): OutboxMessage {
  return {
    id: r.id,
    topic: r.topic,
    key: r.key,
    event: r.event,
    createdAt: r.created_at,
    attempts: r.attempts,
    ...opt('publishedAt', r.published_at),
    ...opt('lastError', r.last_error),
    ...opt('lockedUntil', r.locked_until),
  };
}

export function toUser(r: UserRow): User {
  return { userId: r.user_id, email: r.email, passwordHash: r.password_hash, createdAt: r.created_at, sessionVersion: r.session_version };
}
