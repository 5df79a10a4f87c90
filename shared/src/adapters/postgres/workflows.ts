import type { StoredTrigger, Workflow } from '../../domain/workflow.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { WorkflowRepo } from '../../ports/repos.js';
import { decodeCursor, toPage } from '../cursor.js';
import { decodeUserJson, encodeUserJson } from '../user-json.js';
import { json, NOW, NOW_PLUS, opt, query, type PostgresContext } from './connection.js';
import { EXECUTION_COLUMNS, executionValues } from './executions.js';

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


/**
 * WorkflowRepo.acceptRuns. The idle workflows of the batch are locked first, in key order, so
 * that two batches naming the same workflows cannot deadlock; a workflow named by two runs is
 * updated once, with one of them, which RETURNING names; the inserts follow the runs it names.
 */
const ACCEPT_RUNS = `WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::jsonb[], $6::jsonb[], $7::jsonb[], $8::text[], $9::integer[], $10::integer[],
      $11::timestamptz[], $12::timestamptz[], $13::jsonb[], $14::text[], $15::text[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::text[],
      $21::text[], $22::text[], $23::text[], $24::jsonb[], $25::timestamptz[], $26::integer[], $27::integer[], $28::timestamptz[])
    WITH ORDINALITY AS i(execution_id, owner_id, workflow_id, workflow_version, actions, retry_policy, trigger, status, attempt, retries_left,
      next_attempt_at, lease_until, steps, error, idempotency_key, created_at, updated_at, started_at, finished_at, rerun_of,
      message_id, topic, key, event, message_created_at, message_attempts, as_read_version, as_read_created_at, n)),
  locked AS (
    SELECT w.owner_id, w.workflow_id FROM workflows w
    WHERE (w.owner_id, w.workflow_id) IN (SELECT owner_id, workflow_id FROM input) AND w.trigger_status='idle'
    ORDER BY w.owner_id, w.workflow_id FOR UPDATE),
  claimed AS (
    UPDATE workflows w SET trigger_status='busy', trigger_execution_id=i.execution_id, updated_at=i.created_at
    FROM input i JOIN locked l USING (owner_id, workflow_id)
    WHERE w.owner_id=i.owner_id AND w.workflow_id=i.workflow_id AND w.trigger_status='idle' AND (w.trigger_execution_id IS NULL OR w.trigger_execution_id=i.execution_id)
      AND (i.as_read_version IS NULL OR (w.version=i.as_read_version AND w.created_at=i.as_read_created_at))
    RETURNING i.execution_id),
  execution AS (
    INSERT INTO executions (${EXECUTION_COLUMNS})
    SELECT i.execution_id, i.owner_id, i.workflow_id, i.workflow_version, i.actions, i.retry_policy, i.trigger, i.status, i.attempt, i.retries_left,
      i.next_attempt_at, i.lease_until, i.steps, i.error, i.idempotency_key, i.created_at, i.updated_at, i.started_at, i.finished_at, i.rerun_of
    FROM input i JOIN claimed USING (execution_id) ORDER BY i.n),
  request AS (
    INSERT INTO outbox (id, topic, key, event, created_at, attempts)
    SELECT i.message_id, i.topic, i.key, i.event, i.message_created_at, i.message_attempts FROM input i JOIN claimed USING (execution_id) ORDER BY i.n)
  SELECT execution_id FROM claimed`;

export function createWorkflowRepo(ctx: PostgresContext): WorkflowRepo {
  const { db, maxStepOutputBytes } = ctx;
  const workflows: WorkflowRepo = {
    async create(workflow) {
      await query(db, `INSERT INTO workflows (owner_id, workflow_id, name, enabled, trigger_spec, trigger_status, next_run_at, lease_until, hook_id, secret_hash, actions, retry_policy, created_at, updated_at, version, trigger_execution_id, retention)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`, [
        workflow.ownerId, workflow.workflowId, workflow.name, workflow.enabled, json(triggerSpec(workflow.trigger)), workflow.trigger.status, workflow.trigger.nextRunAt ?? null,
        workflow.trigger.leaseUntil ?? null, workflow.trigger.hookId ?? null, workflow.trigger.secretHash ?? null, json(encodeUserJson(workflow.actions)), json(workflow.retryPolicy),
        workflow.createdAt, workflow.updatedAt, workflow.version, workflow.trigger.executionId ?? null, workflow.retention ? json(workflow.retention) : null,
      ]);
    },
    async get(ownerId, workflowId) {
      const { rows } = await query<WorkflowRow>(db, 'SELECT * FROM workflows WHERE owner_id = $1 AND workflow_id = $2', [ownerId, workflowId]);
      return rows[0] ? toWorkflow(rows[0]) : null;
    },
    async list(ownerId, page, idPrefix) {
      const after = page.cursor ? decodeCursor(page.cursor) : null;
      const { rows } = await query<WorkflowRow>(
        db,
        `SELECT * FROM workflows WHERE owner_id = $1 AND ($2::text IS NULL OR workflow_id > $2)
           AND ($4::text IS NULL OR starts_with(workflow_id, $4)) ORDER BY workflow_id LIMIT $3`,
        [ownerId, after, page.limit + 1, idPrefix ?? null],
      );
      return toPage(rows.map(toWorkflow), page.limit, (w) => w.workflowId);
    },
    async replace(workflow, expectedVersion) {
      // trigger_status, trigger_execution_id and lease_until are the runs' state, not the definition's: never rewound
      // here. Nor is next_run_at while the schedule stays the same: the scheduler advances it
      // without a version bump, so the copy given may predate it. SET reads the row this UPDATE
      // writes (under READ COMMITTED, the latest committed one), so no advance is lost.
      const { rowCount } = await query(db, `UPDATE workflows SET name=$3, enabled=$4, trigger_spec=$5,
                   next_run_at = CASE WHEN trigger_spec = $5::jsonb THEN next_run_at ELSE $6 END, hook_id=$7, secret_hash=$8,
                   actions=$9, retry_policy=$10, updated_at=$11, version=$12, retention=$14 WHERE owner_id=$1 AND workflow_id=$2 AND version=$13`, [
        workflow.ownerId, workflow.workflowId, workflow.name, workflow.enabled, json(triggerSpec(workflow.trigger)), workflow.trigger.nextRunAt ?? null,
        workflow.trigger.hookId ?? null, workflow.trigger.secretHash ?? null, json(encodeUserJson(workflow.actions)), json(workflow.retryPolicy),
        workflow.updatedAt, workflow.version, expectedVersion, workflow.retention ? json(workflow.retention) : null,
      ]);
      if (rowCount) return;
      const { rows } = await query<{ version: number }>(db, 'SELECT version FROM workflows WHERE owner_id=$1 AND workflow_id=$2', [workflow.ownerId, workflow.workflowId]);
      if (!rows[0]) throw new NotFoundError(`workflow "${workflow.workflowId}" not found`);
      throw new ConflictError('workflow was changed concurrently', { currentVersion: rows[0].version }, 'version_conflict');
    },
    async delete(ownerId, workflowId) {
      const { rowCount } = await query(db, 'DELETE FROM workflows WHERE owner_id=$1 AND workflow_id=$2', [ownerId, workflowId]);
      return (rowCount ?? 0) > 0;
    },
    async findByHookId(hookId) {
      const { rows } = await query<WorkflowRow>(db, 'SELECT * FROM workflows WHERE hook_id = $1', [hookId]);
      return rows[0] ? toWorkflow(rows[0]) : null;
    },
    async setTriggerStatus(ownerId, workflowId, executionId, from, to, at) {
      const { rowCount } = await query(
        db,
        `UPDATE workflows SET trigger_status=$4, trigger_execution_id = CASE WHEN $4 = 'idle' THEN NULL ELSE $3 END, updated_at=$6
         WHERE owner_id=$1 AND workflow_id=$2 AND trigger_status = ANY($5::text[]) AND (trigger_execution_id IS NULL OR trigger_execution_id = $3)`,
        [ownerId, workflowId, executionId, to, from, at],
      );
      return (rowCount ?? 0) > 0;
    },
    async acceptRun(execution, request, asRead) {
      // One statement, so atomic without a transaction: the inserts read the compare-and-set's
      // row, so they happen exactly when it does (the same condition as setTriggerStatus from idle).
      const { rows } = await query<{ accepted: number }>(
        db,
        `WITH claimed AS (
           UPDATE workflows SET trigger_status='busy', trigger_execution_id=$1, updated_at=$16
           WHERE owner_id=$2 AND workflow_id=$3 AND trigger_status='idle' AND (trigger_execution_id IS NULL OR trigger_execution_id=$1)
             AND ($27::integer IS NULL OR (version=$27 AND created_at=$28))
           RETURNING 1),
         execution AS (
           INSERT INTO executions (${EXECUTION_COLUMNS})
           SELECT $1::text,$2::text,$3::text,$4::integer,$5::jsonb,$6::jsonb,$7::jsonb,$8::text,$9::integer,$10::integer,$11::timestamptz,$12::timestamptz,
                  $13::jsonb,$14::text,$15::text,$16::timestamptz,$17::timestamptz,$18::timestamptz,$19::timestamptz,$20::text FROM claimed),
         request AS (
           INSERT INTO outbox (id, topic, key, event, created_at, attempts)
           SELECT $21::text,$22::text,$23::text,$24::jsonb,$25::timestamptz,$26::integer FROM claimed)
         SELECT count(*)::int AS accepted FROM claimed`,
        [...executionValues(execution, maxStepOutputBytes), request.id, request.topic, request.key, json(request.event), request.createdAt, request.attempts, asRead?.version ?? null, asRead?.createdAt ?? null],
      );
      return (rows[0]?.accepted ?? 0) > 0;
    },
    async acceptRuns(accepts) {
      if (accepts.length === 0) return [];
      // acceptRun's statement over unnest, one row per run: the values acceptRun binds, a column each.
      const values = accepts.map(({ execution, request, asRead }) => [
        ...executionValues(execution, maxStepOutputBytes),
        request.id, request.topic, request.key, json(request.event), request.createdAt, request.attempts, asRead?.version ?? null, asRead?.createdAt ?? null,
      ]);
      const { rows } = await query<{ execution_id: string }>(db, ACCEPT_RUNS, values[0]!.map((_, column) => values.map((row) => row[column]))).catch((err: unknown) => {
        throw err instanceof ConflictError ? new ConflictError('an execution or outbox message of the batch already exists') : err;
      });
      return rows.map((row) => row.execution_id);
    },
    async claimDueScheduled(leaseMs, limit) {
      const { rows } = await query<WorkflowRow>(
        db,
        `UPDATE workflows SET lease_until = ${NOW_PLUS('$1')} WHERE (owner_id, workflow_id) IN (
           SELECT owner_id, workflow_id FROM workflows
           WHERE enabled AND next_run_at IS NOT NULL AND next_run_at <= ${NOW} AND (lease_until IS NULL OR lease_until <= ${NOW})
           ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [leaseMs, limit],
      );
      return rows.map(toWorkflow).sort((a, b) => a.trigger.nextRunAt!.getTime() - b.trigger.nextRunAt!.getTime());
    },
    async nextDueAt(after) {
      const { rows } = await query<{ next_run_at: Date }>(
        db,
        'SELECT next_run_at FROM workflows WHERE enabled AND next_run_at IS NOT NULL AND next_run_at > $1 ORDER BY next_run_at LIMIT 1',
        [after],
      );
      return rows[0]?.next_run_at ?? null;
    },
    async advanceSchedule(ownerId, workflowId, dueAt, nextRunAt) {
      const { rowCount } = await query(db, 'UPDATE workflows SET next_run_at=$4, lease_until=NULL WHERE owner_id=$1 AND workflow_id=$2 AND next_run_at=$3', [ownerId, workflowId, dueAt, nextRunAt ?? null]);
      return (rowCount ?? 0) > 0;
    },
    async withRunLimit(after, limit) {
      const { rows } = await query<{ owner_id: string; workflow_id: string; max_runs: number }>(
        db,
        `SELECT owner_id, workflow_id, (retention->>'maxRuns')::int AS max_runs FROM workflows
          WHERE retention IS NOT NULL AND ($1::text IS NULL OR (owner_id COLLATE "C", workflow_id COLLATE "C") > ($1::text, $2::text))
          ORDER BY owner_id COLLATE "C", workflow_id COLLATE "C" LIMIT $3`,
        [after?.ownerId ?? null, after?.workflowId ?? null, limit],
      );
      return rows.map((r) => ({ ownerId: r.owner_id, workflowId: r.workflow_id, maxRuns: r.max_runs }));
    },
  };
  return workflows;
}
