import { createHash } from 'node:crypto';
import pg from 'pg';
import { ConflictError, NotFoundError, UnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { CANCELLED_STEP_ERROR, FINISHED_STATUSES, RESUMABLE_STATUSES, type Execution, type ExecutionStatus, type Step } from '../../domain/execution.js';
import { emptyStatusCounts, type RecentRun, type StatusCounts } from '../../domain/run-stats.js';
import type { ExecutionRepo, IdempotencyRepo, OutboxRepo, PageRequest, Repos, SecretRepo, Store, UserRepo, WorkflowRepo } from '../../ports/repos.js';
import { newId } from '../../ids.js';
import { decodeCursor, decodeExecutionCursor, executionSortKey, toPage } from '../cursor.js';
import { boundError, boundStep, DEFAULT_MAX_STEP_OUTPUT_BYTES, type StepBoundOptions } from '../step-bound.js';
import { encodeUserJson } from '../user-json.js';
import { createPool } from './connection.js';
import { isConnectionError, toStoreError } from './errors.js';
import { MIGRATIONS } from './migrations.js';
import {
  stepToRow,
  toExecution,
  toOutbox,
  toUser,
  toWorkflow,
  triggerSpec,
  triggerToRow,
  type ExecutionRow,
  type OutboxRow,
  type UserRow,
  type WorkflowRow,
} from './rows.js';

export interface PostgresStoreOptions extends StepBoundOptions {
  url: string;
  poolSize?: number;
  /** A schema of its own (created if missing): lets tests and tenants share a database. */
  schema?: string;
  logger?: Logger;
}

/** Anything that runs a query: the pool, or one client inside a transaction. */
type Queryable = Pick<pg.Pool, 'query'>;

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock

/**
 * Every query here is a constant text, so each is a named prepared statement: each pooled
 * connection parses and plans it once, then only binds and executes it.
 */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `wf_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

/** A page cursor of the newest-first run lists: `<createdAt ms>:<executionId>`, or nulls for the first page. */
function executionCursor(page: PageRequest): [Date | null, string | null] {
  if (!page.cursor) return [null, null];
  const { createdAt, executionId } = decodeExecutionCursor(page.cursor);
  return [createdAt, executionId];
}

async function q<R extends pg.QueryResultRow>(db: Queryable, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>({ name: statementName(text), text, values });
  } catch (err) {
    // A later migration changed a table under a statement this connection prepared earlier
    // (a rolling upgrade); outside a transaction, the statement unprepared still works.
    if ((err as { code?: string }).code === '0A000' && db instanceof pg.Pool) {
      return db.query<R>(text, values).catch((retryErr: unknown) => {
        throw toStoreError(retryErr);
      });
    }
    throw toStoreError(err);
  }
}

const json = (v: unknown) => JSON.stringify(v);

/** A relay's publish failed (its failure recorded in the transaction, which commits). */
class PublishFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('publish failed');
  }
}

const EXECUTION_COLUMNS = `execution_id, owner_id, workflow_id, workflow_version, actions, retry_policy, trigger, status, attempt, retries_left,
  next_attempt_at, lease_until, steps, error, idempotency_key, created_at, updated_at, started_at, finished_at, rerun_of`;

/**
 * What a metrics scrape runs (exported for the test that checks their plans). Every count but
 * `completed` reads a partial index of only the rows in its status; `completed`, the bulk of
 * the history, is the table's live row count kept by the statistics collector (some seconds
 * late) less those.
 */
export const SCRAPE_SQL = {
  countByStatus: `SELECT
      (SELECT count(*) FROM executions WHERE status = 'queued') AS queued,
      (SELECT count(*) FROM executions WHERE status = 'running') AS running,
      (SELECT count(*) FROM executions WHERE status = 'pending_retry') AS pending_retry,
      (SELECT count(*) FROM executions WHERE status = 'waiting') AS waiting,
      (SELECT count(*) FROM executions WHERE status = 'failed') AS failed,
      (SELECT count(*) FROM executions WHERE status = 'cancelled') AS cancelled,
      pg_stat_get_live_tuples('executions'::regclass) AS live_rows`,
  backlog: 'SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL',
} as const;

/**
 * Store time (see ports/repos.ts): the database's clock at the start of the statement, to the
 * millisecond like the other stores. Stable within a statement, so the claims' range
 * conditions on it still use their indexes (clock_timestamp() is volatile and would not).
 */
const NOW = `date_trunc('milliseconds', statement_timestamp())`;
/** Store time plus the milliseconds in parameter `param` (`-$1`: minus them). */
const NOW_PLUS = (param: string) => `(${NOW} + ${param}::double precision * interval '1 millisecond')`;

function repos(db: Queryable, maxStepOutputBytes: number): Repos {
  const storedStep = (step: Step) => stepToRow(boundStep(step, maxStepOutputBytes));
  /** The values of EXECUTION_COLUMNS, $1 to $20. */
  const executionValues = (e: Execution): unknown[] => [
    e.executionId, e.ownerId, e.workflowId, e.workflowVersion, json(encodeUserJson(e.actions)), json(e.retryPolicy), json(triggerToRow(e.trigger)),
    e.status, e.attempt, e.retriesLeft, e.nextAttemptAt ?? null, e.leaseUntil ?? null, json(e.steps.map(storedStep)), e.error ?? null,
    e.idempotencyKey ?? null, e.createdAt, e.updatedAt, e.startedAt ?? null, e.finishedAt ?? null, e.rerunOf ?? null,
  ];

  const workflows: WorkflowRepo = {
    async create(w) {
      await q(db, `INSERT INTO workflows (owner_id, workflow_id, name, enabled, trigger_spec, trigger_status, next_run_at, lease_until, hook_id, secret_hash, actions, retry_policy, created_at, updated_at, version, trigger_execution_id, retention)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`, [
        w.ownerId, w.workflowId, w.name, w.enabled, json(triggerSpec(w.trigger)), w.trigger.status, w.trigger.nextRunAt ?? null,
        w.trigger.leaseUntil ?? null, w.trigger.hookId ?? null, w.trigger.secretHash ?? null, json(encodeUserJson(w.actions)), json(w.retryPolicy),
        w.createdAt, w.updatedAt, w.version, w.trigger.executionId ?? null, w.retention ? json(w.retention) : null,
      ]);
    },
    async get(ownerId, workflowId) {
      const { rows } = await q<WorkflowRow>(db, 'SELECT * FROM workflows WHERE owner_id = $1 AND workflow_id = $2', [ownerId, workflowId]);
      return rows[0] ? toWorkflow(rows[0]) : null;
    },
    async list(ownerId, page, idPrefix) {
      const after = page.cursor ? decodeCursor(page.cursor) : null;
      const { rows } = await q<WorkflowRow>(
        db,
        `SELECT * FROM workflows WHERE owner_id = $1 AND ($2::text IS NULL OR workflow_id > $2)
           AND ($4::text IS NULL OR starts_with(workflow_id, $4)) ORDER BY workflow_id LIMIT $3`,
        [ownerId, after, page.limit + 1, idPrefix ?? null],
      );
      return toPage(rows.map(toWorkflow), page.limit, (w) => w.workflowId);
    },
    async replace(w, expectedVersion) {
      // trigger_status, trigger_execution_id and lease_until are the runs' state, not the definition's: never rewound
      // here. Nor is next_run_at while the schedule stays the same: the scheduler advances it
      // without a version bump, so the copy given may predate it. SET reads the row this UPDATE
      // writes (under READ COMMITTED, the latest committed one), so no advance is lost.
      const { rowCount } = await q(db, `UPDATE workflows SET name=$3, enabled=$4, trigger_spec=$5,
                   next_run_at = CASE WHEN trigger_spec = $5::jsonb THEN next_run_at ELSE $6 END, hook_id=$7, secret_hash=$8,
                   actions=$9, retry_policy=$10, updated_at=$11, version=$12, retention=$14 WHERE owner_id=$1 AND workflow_id=$2 AND version=$13`, [
        w.ownerId, w.workflowId, w.name, w.enabled, json(triggerSpec(w.trigger)), w.trigger.nextRunAt ?? null,
        w.trigger.hookId ?? null, w.trigger.secretHash ?? null, json(encodeUserJson(w.actions)), json(w.retryPolicy),
        w.updatedAt, w.version, expectedVersion, w.retention ? json(w.retention) : null,
      ]);
      if (rowCount) return;
      const { rows } = await q<{ version: number }>(db, 'SELECT version FROM workflows WHERE owner_id=$1 AND workflow_id=$2', [w.ownerId, w.workflowId]);
      if (!rows[0]) throw new NotFoundError(`workflow "${w.workflowId}" not found`);
      throw new ConflictError('workflow was changed concurrently', { currentVersion: rows[0].version }, 'version_conflict');
    },
    async delete(ownerId, workflowId) {
      const { rowCount } = await q(db, 'DELETE FROM workflows WHERE owner_id=$1 AND workflow_id=$2', [ownerId, workflowId]);
      return (rowCount ?? 0) > 0;
    },
    async findByHookId(hookId) {
      const { rows } = await q<WorkflowRow>(db, 'SELECT * FROM workflows WHERE hook_id = $1', [hookId]);
      return rows[0] ? toWorkflow(rows[0]) : null;
    },
    async setTriggerStatus(ownerId, workflowId, executionId, from, to, at) {
      const { rowCount } = await q(
        db,
        `UPDATE workflows SET trigger_status=$4, trigger_execution_id = CASE WHEN $4 = 'idle' THEN NULL ELSE $3 END, updated_at=$6
         WHERE owner_id=$1 AND workflow_id=$2 AND trigger_status = ANY($5::text[]) AND (trigger_execution_id IS NULL OR trigger_execution_id = $3)`,
        [ownerId, workflowId, executionId, to, from, at],
      );
      return (rowCount ?? 0) > 0;
    },
    async acceptRun(e, m, expectedVersion) {
      // One statement, so atomic without a transaction: the inserts read the compare-and-set's
      // row, so they happen exactly when it does (the same condition as setTriggerStatus from idle).
      const { rows } = await q<{ accepted: number }>(
        db,
        `WITH claimed AS (
           UPDATE workflows SET trigger_status='busy', trigger_execution_id=$1, updated_at=$16
           WHERE owner_id=$2 AND workflow_id=$3 AND trigger_status='idle' AND (trigger_execution_id IS NULL OR trigger_execution_id=$1)
             AND ($27::integer IS NULL OR version=$27)
           RETURNING 1),
         execution AS (
           INSERT INTO executions (${EXECUTION_COLUMNS})
           SELECT $1::text,$2::text,$3::text,$4::integer,$5::jsonb,$6::jsonb,$7::jsonb,$8::text,$9::integer,$10::integer,$11::timestamptz,$12::timestamptz,
                  $13::jsonb,$14::text,$15::text,$16::timestamptz,$17::timestamptz,$18::timestamptz,$19::timestamptz,$20::text FROM claimed),
         request AS (
           INSERT INTO outbox (id, topic, key, event, created_at, attempts)
           SELECT $21::text,$22::text,$23::text,$24::jsonb,$25::timestamptz,$26::integer FROM claimed)
         SELECT count(*)::int AS accepted FROM claimed`,
        [...executionValues(e), m.id, m.topic, m.key, json(m.event), m.createdAt, m.attempts, expectedVersion ?? null],
      );
      return (rows[0]?.accepted ?? 0) > 0;
    },
    async claimDueScheduled(leaseMs, limit) {
      const { rows } = await q<WorkflowRow>(
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
      const { rows } = await q<{ next_run_at: Date }>(
        db,
        'SELECT next_run_at FROM workflows WHERE enabled AND next_run_at IS NOT NULL AND next_run_at > $1 ORDER BY next_run_at LIMIT 1',
        [after],
      );
      return rows[0]?.next_run_at ?? null;
    },
    async advanceSchedule(ownerId, workflowId, dueAt, nextRunAt) {
      const { rowCount } = await q(db, 'UPDATE workflows SET next_run_at=$4, lease_until=NULL WHERE owner_id=$1 AND workflow_id=$2 AND next_run_at=$3', [ownerId, workflowId, dueAt, nextRunAt ?? null]);
      return (rowCount ?? 0) > 0;
    },
    async withRunLimit(after, limit) {
      const { rows } = await q<{ owner_id: string; workflow_id: string; max_runs: number }>(
        db,
        `SELECT owner_id, workflow_id, (retention->>'maxRuns')::int AS max_runs FROM workflows
          WHERE retention IS NOT NULL AND ($1::text IS NULL OR (owner_id COLLATE "C", workflow_id COLLATE "C") > ($1::text, $2::text))
          ORDER BY owner_id COLLATE "C", workflow_id COLLATE "C" LIMIT $3`,
        [after?.ownerId ?? null, after?.workflowId ?? null, limit],
      );
      return rows.map((r) => ({ ownerId: r.owner_id, workflowId: r.workflow_id, maxRuns: r.max_runs }));
    },
  };

  const executions: ExecutionRepo = {
    async insert(e) {
      await q(db, `INSERT INTO executions (${EXECUTION_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)`, executionValues(e)).catch((err: unknown) => {
        throw err instanceof ConflictError ? new ConflictError(`execution ${e.executionId} already exists`) : err;
      });
    },
    async get(executionId) {
      const { rows } = await q<ExecutionRow>(db, 'SELECT * FROM executions WHERE execution_id = $1', [executionId]);
      return rows[0] ? toExecution(rows[0]) : null;
    },
    async listByWorkflow(ownerId, workflowId, page) {
      const [ms, id] = executionCursor(page);
      const { rows } = await q<ExecutionRow>(
        db,
        `SELECT * FROM executions WHERE owner_id=$1 AND workflow_id=$2
           AND ($3::timestamptz IS NULL OR (created_at, execution_id) < ($3::timestamptz, $4::text))
         ORDER BY created_at DESC, execution_id DESC LIMIT $5`,
        [ownerId, workflowId, ms, id, page.limit + 1],
      );
      return toPage(rows.map(toExecution), page.limit, executionSortKey);
    },
    async listRuns(ownerId, filter, page) {
      const [ms, id] = executionCursor(page);
      // One constant text (a prepared statement) for every combination of conditions.
      const { rows } = await q<ExecutionRow>(
        db,
        `SELECT * FROM executions WHERE owner_id=$1
           AND ($2::text IS NULL OR workflow_id=$2)
           AND ($3::text[] IS NULL OR status = ANY($3::text[]))
           AND ($4::timestamptz IS NULL OR created_at >= $4)
           AND ($5::timestamptz IS NULL OR created_at < $5)
           AND ($6::timestamptz IS NULL OR (created_at, execution_id) < ($6::timestamptz, $7::text))
         ORDER BY created_at DESC, execution_id DESC LIMIT $8`,
        [ownerId, filter.workflowId ?? null, filter.statuses ?? null, filter.createdFrom ?? null, filter.createdBefore ?? null, ms, id, page.limit + 1],
      );
      return toPage(rows.map(toExecution), page.limit, executionSortKey);
    },
    async recentRuns(ownerId, workflowIds, perWorkflow) {
      // Per workflow, the newest runs straight off the history index.
      const { rows } = await q<{ workflow_id: string; execution_id: string; status: ExecutionStatus; created_at: Date; finished_at: Date | null }>(
        db,
        `SELECT w.id AS workflow_id, r.execution_id, r.status, r.created_at, r.finished_at
           FROM unnest($2::text[]) AS w(id)
           CROSS JOIN LATERAL (
             SELECT execution_id, status, created_at, finished_at FROM executions
              WHERE owner_id=$1 AND workflow_id=w.id ORDER BY created_at DESC, execution_id DESC LIMIT $3) r
          ORDER BY w.id, r.created_at DESC, r.execution_id DESC`,
        [ownerId, workflowIds, perWorkflow],
      );
      const result: Record<string, RecentRun[]> = Object.fromEntries(workflowIds.map((w) => [w, []]));
      for (const r of rows) {
        result[r.workflow_id]!.push({ executionId: r.execution_id, status: r.status, createdAt: r.created_at, ...(r.finished_at ? { finishedAt: r.finished_at } : {}) });
      }
      return result;
    },
    async runStats(ownerId, { from, to, bucketMs, top }) {
      const window = [ownerId, from, to];
      const inWindow = 'owner_id=$1 AND created_at >= $2 AND created_at < $3';
      const [bucketRows, durationRows, busiestRows, failingRows, waitingRows] = await Promise.all([
        q<{ bucket: string; status: ExecutionStatus; n: number }>(
          db,
          `SELECT floor(extract(epoch FROM (created_at - $2::timestamptz)) * 1000 / $4::bigint)::bigint AS bucket, status, count(*)::int AS n
             FROM executions WHERE ${inWindow} GROUP BY 1, 2`,
          [...window, bucketMs],
        ),
        q<{ p50: string | null; p95: string | null }>(
          db,
          `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d) AS p50, percentile_disc(0.95) WITHIN GROUP (ORDER BY d) AS p95
             FROM (SELECT extract(epoch FROM (finished_at - COALESCE(started_at, created_at))) * 1000 AS d
                     FROM executions WHERE ${inWindow} AND finished_at IS NOT NULL) finished`,
          window,
        ),
        q<{ workflow_id: string; runs: number }>(
          db,
          `SELECT workflow_id, count(*)::int AS runs FROM executions WHERE ${inWindow}
            GROUP BY workflow_id ORDER BY runs DESC, workflow_id COLLATE "C" LIMIT $4`,
          [...window, top],
        ),
        q<{ workflow_id: string; runs: number; failed: number }>(
          db,
          `SELECT workflow_id, count(*)::int AS runs, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM executions WHERE ${inWindow}
            GROUP BY workflow_id HAVING count(*) FILTER (WHERE status = 'failed') > 0 ORDER BY failed DESC, workflow_id COLLATE "C" LIMIT $4`,
          [...window, top],
        ),
        q<{ n: number }>(db, `SELECT count(*)::int AS n FROM executions WHERE owner_id=$1 AND status='pending_retry'`, [ownerId]),
      ]);
      const buckets = new Map<number, StatusCounts>();
      const totals = emptyStatusCounts();
      for (const r of bucketRows.rows) {
        const counts = buckets.get(Number(r.bucket)) ?? emptyStatusCounts();
        counts[r.status] += r.n;
        totals[r.status] += r.n;
        buckets.set(Number(r.bucket), counts);
      }
      const d = durationRows.rows[0];
      return {
        buckets: [...buckets].sort(([a], [b]) => a - b).map(([bucket, counts]) => ({ start: new Date(from.getTime() + bucket * bucketMs), counts })),
        totals,
        durationMs: d?.p50 != null && d.p95 != null ? { p50: Number(d.p50), p95: Number(d.p95) } : null,
        busiest: busiestRows.rows.map((r) => ({ workflowId: r.workflow_id, runs: r.runs })),
        mostFailing: failingRows.rows.map((r) => ({ workflowId: r.workflow_id, failed: r.failed, runs: r.runs })),
        waitingForRetry: waitingRows.rows[0]?.n ?? 0,
      };
    },
    async claimForRun(executionId, attempt, leaseMs) {
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions SET status='running', lease_until=${NOW_PLUS('$3')}, started_at=COALESCE(started_at, ${NOW}), updated_at=${NOW}
         WHERE execution_id=$1 AND attempt=$2 AND (status='queued' OR (status='running' AND lease_until <= ${NOW})) RETURNING *`,
        [executionId, attempt, leaseMs],
      );
      return rows[0] ? toExecution(rows[0]) : null;
    },
    async claimManyForRun(claims, leaseMs) {
      if (claims.length === 0) return [];
      // The conditions of claimForRun, row by row; an execution listed twice is updated (and returned) once.
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions e SET status='running', lease_until=${NOW_PLUS('$3')}, started_at=COALESCE(e.started_at, ${NOW}), updated_at=${NOW}
         FROM unnest($1::text[], $2::integer[]) AS c(execution_id, attempt)
         WHERE e.execution_id=c.execution_id AND e.attempt=c.attempt AND (e.status='queued' OR (e.status='running' AND e.lease_until <= ${NOW}))
         RETURNING e.*`,
        [claims.map((c) => c.executionId), claims.map((c) => c.attempt), leaseMs],
      );
      return rows.map(toExecution);
    },
    async renewLease(executionId, attempt, leaseMs) {
      const { rowCount } = await q(db, `UPDATE executions SET lease_until=${NOW_PLUS('$3')} WHERE execution_id=$1 AND attempt=$2 AND status='running'`, [executionId, attempt, leaseMs]);
      return (rowCount ?? 0) > 0;
    },
    async saveStep(executionId, attempt, step, leaseMs) {
      const at = step.finishedAt ?? step.startedAt ?? null;
      const { rowCount } = await q(
        db,
        `UPDATE executions SET steps = jsonb_set(steps, ARRAY[$3::text], $4::jsonb), lease_until=${NOW_PLUS('$5')}, updated_at=COALESCE($6, updated_at)
         WHERE execution_id=$1 AND attempt=$2 AND status='running'`,
        [executionId, attempt, String(step.index), json(storedStep(step)), leaseMs, at],
      );
      return (rowCount ?? 0) > 0;
    },
    async finishAttempt(executionId, attempt, u) {
      const finished = u.status === 'completed' || u.status === 'failed';
      const { rowCount } = await q(
        db,
        `UPDATE executions SET status=$3, retries_left=$4, updated_at=$5, next_attempt_at=$6, error=$7, lease_until=NULL,
           finished_at = CASE WHEN $8 THEN $5 ELSE finished_at END,
           steps = CASE WHEN $9::text IS NULL THEN steps ELSE jsonb_set(steps, ARRAY[$9::text], $10::jsonb) END
         WHERE execution_id=$1 AND attempt=$2 AND status='running'`,
        [
          executionId, attempt, u.status, u.retriesLeft, u.at, u.nextAttemptAt ?? null, u.error === undefined ? null : boundError(u.error, maxStepOutputBytes), finished,
          u.step ? String(u.step.index) : null, u.step ? json(storedStep(u.step)) : null,
        ],
      );
      return (rowCount ?? 0) > 0;
    },
    async cancel(executionId, at) {
      // Steps are rewritten in the same statement: a step still running is failed as cancelled.
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions SET status='cancelled', updated_at=$2, finished_at=$2, lease_until=NULL, next_attempt_at=NULL,
           steps = (SELECT COALESCE(jsonb_agg(CASE WHEN s->>'status' = 'running'
                      THEN s || jsonb_build_object('status', 'failed', 'error', $4::text, 'finishedAt', $5::text) ELSE s END ORDER BY i), '[]'::jsonb)
                    FROM jsonb_array_elements(steps) WITH ORDINALITY AS t(s, i))
         WHERE execution_id=$1 AND status <> ALL($3::text[]) RETURNING *`,
        [executionId, at, FINISHED_STATUSES, CANCELLED_STEP_ERROR, at.toISOString()],
      );
      return rows[0] ? toExecution(rows[0]) : null;
    },
    async resume(executionId, attempt, at, retriesLeft) {
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions SET status='queued', attempt=attempt+1, retries_left=$4, updated_at=$3, error=NULL, finished_at=NULL, next_attempt_at=NULL, lease_until=NULL,
           steps = (SELECT COALESCE(jsonb_agg(CASE WHEN s->>'status' = 'succeeded'
                      THEN s ELSE jsonb_build_object('index', s->'index', 'type', s->'type', 'status', 'pending') END ORDER BY i), '[]'::jsonb)
                    FROM jsonb_array_elements(steps) WITH ORDINALITY AS t(s, i))
         WHERE execution_id=$1 AND attempt=$2 AND status = ANY($5::text[]) RETURNING *`,
        [executionId, attempt, at, retriesLeft, RESUMABLE_STATUSES],
      );
      return rows[0] ? toExecution(rows[0]) : null;
    },
    async purgeFinished(before, limit) {
      // Small batches off executions_finished_idx; SKIP LOCKED never waits on a run being written.
      const { rowCount } = await q(
        db,
        `DELETE FROM executions WHERE execution_id IN (
           SELECT execution_id FROM executions WHERE finished_at IS NOT NULL AND finished_at < $1 AND status = ANY($3::text[])
           ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, limit, FINISHED_STATUSES],
      );
      return rowCount ?? 0;
    },
    async purgeBeyond(ownerId, workflowId, keep, limit) {
      // The runs past the newest `keep`, read off the history index.
      const { rowCount } = await q(
        db,
        `DELETE FROM executions WHERE execution_id IN (
           SELECT execution_id FROM (
             SELECT execution_id, status FROM executions WHERE owner_id=$1 AND workflow_id=$2
              ORDER BY created_at DESC, execution_id DESC OFFSET $3) older
            WHERE status = ANY($5::text[]) LIMIT $4)
           AND status = ANY($5::text[])`,
        [ownerId, workflowId, keep, limit, FINISHED_STATUSES],
      );
      return rowCount ?? 0;
    },
    async requeueDueRetries(limit) {
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions SET status='queued', attempt=attempt+1, next_attempt_at=NULL, updated_at=${NOW} WHERE execution_id IN (
           SELECT execution_id FROM executions WHERE status='pending_retry' AND next_attempt_at <= ${NOW}
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [limit],
      );
      return rows.map(toExecution);
    },
    async resumeDueWaits(limit) {
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions SET status='queued', updated_at=${NOW} WHERE execution_id IN (
           SELECT execution_id FROM executions WHERE status='waiting' AND next_attempt_at <= ${NOW}
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [limit],
      );
      return rows.map(toExecution);
    },
    async requeueExpiredLeases(limit) {
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions SET status='queued', lease_until=NULL, updated_at=${NOW} WHERE execution_id IN (
           SELECT execution_id FROM executions WHERE status='running' AND lease_until <= ${NOW}
           ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [limit],
      );
      return rows.map(toExecution);
    },
    async requeueStaleQueued(queuedForMs, limit) {
      // Both lookups are index probes: queued runs by age, then each one's request among the
      // unpublished outbox rows (outbox_unpublished_execution_idx). A filter on the event type
      // as well would lose that: the planner, with no statistics for it, would scan them all.
      const { rows } = await q<ExecutionRow>(
        db,
        `UPDATE executions SET updated_at=${NOW} WHERE execution_id IN (
           SELECT e.execution_id FROM executions e
           WHERE e.status='queued' AND e.updated_at <= ${NOW_PLUS('-$1')}
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.published_at IS NULL
               AND o.event->'data'->>'executionId' = e.execution_id AND (o.event->'data'->>'attempt')::int = e.attempt)
           ORDER BY e.updated_at LIMIT $2 FOR UPDATE OF e SKIP LOCKED)
         RETURNING *`,
        [queuedForMs, limit],
      );
      return rows.map(toExecution);
    },
    async countByStatus() {
      type Counted = Exclude<ExecutionStatus, 'completed'>;
      const { rows } = await q<Record<Counted | 'live_rows', string | null>>(db, SCRAPE_SQL.countByStatus);
      const row = rows[0]!;
      const counts = {
        queued: Number(row.queued),
        running: Number(row.running),
        waiting: Number(row.waiting),
        pending_retry: Number(row.pending_retry),
        failed: Number(row.failed),
        cancelled: Number(row.cancelled),
      };
      const counted = counts.queued + counts.running + counts.waiting + counts.pending_retry + counts.failed + counts.cancelled;
      return { ...counts, completed: Math.max(0, Number(row.live_rows ?? 0) - counted) };
    },
  };

  const outbox: OutboxRepo = {
    async add(m) {
      await q(db, 'INSERT INTO outbox (id, topic, key, event, created_at, attempts) VALUES ($1,$2,$3,$4,$5,$6)', [m.id, m.topic, m.key, json(m.event), m.createdAt, m.attempts]).catch(
        (err: unknown) => {
          throw err instanceof ConflictError ? new ConflictError(`outbox message ${m.id} already exists`) : err;
        },
      );
    },
    async claimBatch(lockMs, limit) {
      const lockToken = newId();
      const { rows } = await q<OutboxRow>(
        db,
        `UPDATE outbox SET locked_until=${NOW_PLUS('$1')}, lock_token=$3 WHERE id IN (
           SELECT id FROM outbox WHERE published_at IS NULL AND (locked_until IS NULL OR locked_until <= ${NOW})
           ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [lockMs, limit, lockToken],
      );
      return { lockToken, messages: rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toOutbox) };
    },
    async markPublished(lockToken, ids, at) {
      const { rowCount } = await q(
        db,
        'UPDATE outbox SET published_at=$3, locked_until=NULL, lock_token=NULL WHERE id = ANY($2::text[]) AND lock_token=$1 AND published_at IS NULL',
        [lockToken, ids, at],
      );
      return rowCount ?? 0;
    },
    async markFailed(lockToken, ids, error) {
      const { rowCount } = await q(
        db,
        'UPDATE outbox SET attempts=attempts+1, last_error=$3, locked_until=NULL, lock_token=NULL WHERE id = ANY($2::text[]) AND lock_token=$1 AND published_at IS NULL',
        [lockToken, ids, error],
      );
      return rowCount ?? 0;
    },
    async relay(lockMs, limit, publish) {
      // Row locks held over the publish, in a transaction: no other relay gets these rows until it
      // ends, and each row is written once, published or failed. Should this connection die
      // mid-publish, the locks go with it and nothing is marked; the messages go out again.
      // (The lock columns are still honoured, so relays that claim with them can run alongside.)
      const pass = async (tx: Queryable) => {
        const { rows } = await q<OutboxRow>(
          tx,
          `SELECT * FROM outbox WHERE published_at IS NULL AND (locked_until IS NULL OR locked_until <= ${NOW})
           ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        if (rows.length === 0) return { claimed: 0, marked: 0 };
        const ids = rows.map((r) => r.id);
        try {
          await publish(rows.map(toOutbox));
        } catch (err) {
          await q(tx, 'UPDATE outbox SET attempts=attempts+1, last_error=$2, locked_until=NULL, lock_token=NULL WHERE id = ANY($1::text[])', [
            ids,
            err instanceof Error ? err.message : String(err),
          ]);
          throw new PublishFailed(err);
        }
        const { rowCount } = await q(tx, `UPDATE outbox SET published_at=${NOW}, locked_until=NULL, lock_token=NULL WHERE id = ANY($1::text[])`, [ids]);
        return { claimed: rows.length, marked: rowCount ?? 0 };
      };
      void lockMs; // the row locks last as long as the transaction
      if (!(db instanceof pg.Pool)) {
        // Already in a transaction: the caller's outcome decides.
        return pass(db).catch((err: unknown) => {
          throw err instanceof PublishFailed ? err.cause : err;
        });
      }
      const client = await db.connect().catch((err: unknown) => {
        throw toStoreError(err);
      });
      let broken: unknown;
      let publishFailure: PublishFailed | undefined;
      try {
        await client.query('BEGIN');
        // A failed publish is recorded and committed, then rethrown (below); anything else rolls back.
        const result = await pass(client).catch((err: unknown) => {
          if (!(err instanceof PublishFailed)) throw err;
          publishFailure = err;
          return undefined;
        });
        await client.query('COMMIT');
        if (result) return result;
      } catch (err) {
        if (err instanceof UnavailableError || isConnectionError(err)) broken = err;
        else await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
        throw toStoreError(err);
      } finally {
        // A broken client (the connection lost mid-pass) is discarded, not pooled again.
        client.release(broken !== undefined);
      }
      throw publishFailure!.cause;
    },
    async purgePublished(before, limit) {
      const { rowCount } = await q(db, 'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < $1 LIMIT $2)', [before, limit]);
      return rowCount ?? 0;
    },
    async backlog(now) {
      const { rows } = await q<{ n: string; oldest: Date | null }>(db, SCRAPE_SQL.backlog);
      const oldest = rows[0]?.oldest;
      return { count: Number(rows[0]?.n ?? 0), oldestAgeMs: oldest ? Math.max(0, now.getTime() - oldest.getTime()) : 0 };
    },
  };

  const users: UserRepo = {
    async create(u) {
      await q(db, 'INSERT INTO users (user_id, email, password_hash, created_at, session_version) VALUES ($1,$2,$3,$4,$5)', [
        u.userId,
        u.email,
        u.passwordHash,
        u.createdAt,
        u.sessionVersion,
      ]);
    },
    async findByEmail(email) {
      const { rows } = await q<UserRow>(db, 'SELECT * FROM users WHERE email = $1', [email]);
      return rows[0] ? toUser(rows[0]) : null;
    },
    async findById(userId) {
      const { rows } = await q<UserRow>(db, 'SELECT * FROM users WHERE user_id = $1', [userId]);
      return rows[0] ? toUser(rows[0]) : null;
    },
    async revokeSessions(userId) {
      const { rows } = await q<{ session_version: number }>(
        db,
        'UPDATE users SET session_version = session_version + 1 WHERE user_id = $1 RETURNING session_version',
        [userId],
      );
      return rows[0]?.session_version ?? null;
    },
  };

  const idempotency: IdempotencyRepo = {
    async find(ownerId, key, notBefore) {
      const { rows } = await q<{ execution_id: string }>(db, 'SELECT execution_id FROM idempotency_keys WHERE owner_id=$1 AND key=$2 AND created_at >= $3', [ownerId, key, notBefore]);
      return rows[0]?.execution_id ?? null;
    },
    async putIfAbsent(ownerId, key, executionId, at, notBefore) {
      // Inserts, or replaces an expired entry. A concurrent transaction's uncommitted entry makes
      // this INSERT wait for it to end: if it commits, its entry is live and nothing is written.
      const { rows } = await q<{ execution_id: string }>(
        db,
        `INSERT INTO idempotency_keys (owner_id, key, execution_id, created_at) VALUES ($1,$2,$3,$4)
         ON CONFLICT (owner_id, key) DO UPDATE SET execution_id=EXCLUDED.execution_id, created_at=EXCLUDED.created_at
         WHERE idempotency_keys.created_at < $5
         RETURNING execution_id`,
        [ownerId, key, executionId, at, notBefore],
      );
      if (rows[0]) return rows[0].execution_id;
      // A statement of its own: its snapshot, unlike the INSERT's, includes the entry it waited for.
      const { rows: live } = await q<{ execution_id: string }>(db, 'SELECT execution_id FROM idempotency_keys WHERE owner_id=$1 AND key=$2', [ownerId, key]);
      if (!live[0]) throw new ConflictError('idempotency key in use', undefined, 'idempotency_conflict');
      return live[0].execution_id;
    },
    async purgeExpired(before, limit) {
      const { rowCount } = await q(
        db,
        `DELETE FROM idempotency_keys WHERE (owner_id, key) IN (
           SELECT owner_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, limit],
      );
      return rowCount ?? 0;
    },
  };

  const secrets: SecretRepo = {
    async put(secret) {
      // xmax = 0 only on a row this statement inserted.
      const { rows } = await q<{ created: boolean }>(
        db,
        `INSERT INTO secrets (owner_id, name, ciphertext, created_at, updated_at) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (owner_id, name) DO UPDATE SET ciphertext=EXCLUDED.ciphertext, updated_at=EXCLUDED.updated_at
         RETURNING (xmax = 0) AS created`,
        [secret.ownerId, secret.name, secret.ciphertext, secret.createdAt, secret.updatedAt],
      );
      return rows[0]?.created ?? false;
    },
    async list(ownerId) {
      const { rows } = await q<{ name: string; created_at: Date; updated_at: Date }>(
        db,
        'SELECT name, created_at, updated_at FROM secrets WHERE owner_id=$1 ORDER BY name COLLATE "C"',
        [ownerId],
      );
      return rows.map((r) => ({ name: r.name, createdAt: r.created_at, updatedAt: r.updated_at }));
    },
    async getMany(ownerId, names) {
      if (names.length === 0) return [];
      const { rows } = await q<{ name: string; ciphertext: string; created_at: Date; updated_at: Date }>(
        db,
        'SELECT name, ciphertext, created_at, updated_at FROM secrets WHERE owner_id=$1 AND name = ANY($2::text[])',
        [ownerId, [...names]],
      );
      return rows.map((r) => ({ ownerId, name: r.name, ciphertext: r.ciphertext, createdAt: r.created_at, updatedAt: r.updated_at }));
    },
    async delete(ownerId, name) {
      const { rowCount } = await q(db, 'DELETE FROM secrets WHERE owner_id=$1 AND name=$2', [ownerId, name]);
      return (rowCount ?? 0) > 0;
    },
  };

  return { workflows, executions, outbox, users, idempotency, secrets };
}

/**
 * The PostgreSQL store: plain SQL on a pooled connection, migrations at `init()`, claims
 * with `FOR UPDATE SKIP LOCKED`, compare-and-set updates whose condition sits in the
 * WHERE clause (under READ COMMITTED a concurrent writer re-checks it after the first
 * commits, so exactly one wins).
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const pool = createPool({ url: options.url, ...(options.poolSize ? { poolSize: options.poolSize } : {}), ...(schema ? { schema } : {}), ...(options.logger ? { logger: options.logger } : {}) });

  const maxStepOutputBytes = options.maxStepOutputBytes ?? DEFAULT_MAX_STEP_OUTPUT_BYTES;
  return {
    kind: 'postgres',
    ...repos(pool, maxStepOutputBytes),
    uow: {
      async run(work) {
        for (let attempt = 1; ; attempt++) {
          let client: pg.PoolClient;
          try {
            client = await pool.connect();
          } catch (err) {
            throw toStoreError(err);
          }
          let broken: unknown;
          try {
            await client.query('BEGIN');
            const result = await work(repos(client, maxStepOutputBytes));
            await client.query('COMMIT');
            return result;
          } catch (err) {
            // A lost connection (COMMIT included: its outcome is then unknown) is a 503; the broken client is discarded.
            if (err instanceof UnavailableError || isConnectionError(err)) broken = err;
            else await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
            const code = (err as { code?: string }).code;
            if (code && RETRYABLE.has(code) && attempt < 5 && !broken) continue;
            throw toStoreError(err);
          } finally {
            client.release(broken !== undefined);
          }
        }
      },
    },
    async init() {
      const client = await pool.connect().catch((err: unknown) => {
        throw toStoreError(err);
      });
      let broken = false;
      try {
        await client.query('BEGIN');
        // One migrator at a time, across every service starting against this database.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`wf-migrations:${schema ?? 'public'}`]);
        if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
        const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
        const current = rows[0]?.v ?? 0;
        for (const [i, sql] of MIGRATIONS.entries()) {
          if (i + 1 <= current) continue;
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
          options.logger?.info({ version: i + 1 }, 'applied migration');
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw toStoreError(err);
      } finally {
        client.release(broken);
      }
    },
    async now() {
      const { rows } = await q<{ now: Date }>(pool, `SELECT ${NOW} AS now`);
      return rows[0]!.now;
    },
    async ping() {
      await q(pool, 'SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
