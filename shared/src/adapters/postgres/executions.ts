import { ConflictError } from '../../errors.js';
import { CANCELLED_STEP_ERROR, FINISHED_STATUSES, MAX_ATTEMPT_RECORDS, RESUMABLE_STATUSES, type AttemptRecord, type Execution, type ExecutionStatus, type Step } from '../../domain/execution.js';
import { emptyStatusCounts, type RecentRun, type StatusCounts } from '../../domain/run-stats.js';
import type { AttemptEnding, ExecutionRepo, PageRequest } from '../../ports/repos.js';
import { decodeExecutionCursor, executionSortKey, toPage } from '../cursor.js';
import { boundError, boundStep } from '../step-bound.js';
import { decodeUserJson, encodeUserJson } from '../user-json.js';
import { date, json, NOW, NOW_PLUS, opt, query, type PostgresContext } from './connection.js';
import { SCRAPE_SQL } from './schema.js';

/*
 * User JSON (actions, trigger payloads, step outputs) is stored as JSON text inside the jsonb
 * columns (see ../user-json.ts): jsonb refuses "\u0000". A `json` column would keep it, but
 * changing the columns' type rewrites the tables under an exclusive lock; text needs no migration.
 */

/** A step in the `steps` column: times as ISO text, the output as JSON text. */
export type StepRow = Omit<Step, 'startedAt' | 'finishedAt'> & { startedAt?: string; finishedAt?: string };

/** An earlier attempt in the `attempts` column, as the SQL that writes it builds it: absent values as null. */
export interface AttemptRow {
  attempt: number;
  endedAs: AttemptRecord['endedAs'];
  startedAt: string | null;
  finishedAt: string;
  error: string | null;
  steps: StepRow[];
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
  steps: StepRow[];
  /** Earlier attempts (`Execution.attempts`); null before a second attempt. */
  attempts: AttemptRow[] | null;
  error: string | null;
  idempotency_key: string | null;
  rerun_of: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}


export function stepToRow(step: Step): StepRow {
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
    steps: row.steps.map(toStep),
    ...(row.attempts?.length ? { attempts: row.attempts.map(toAttemptRecord) } : {}),
    ...opt('error', row.error),
    ...opt('idempotencyKey', row.idempotency_key),
    ...opt('rerunOf', row.rerun_of),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...opt('startedAt', row.started_at),
    ...opt('finishedAt', row.finished_at),
  };
}

/** A step as the `steps` column holds it, its output within `maxStepOutputBytes`. */
function storedStep(step: Step, maxStepOutputBytes: number): StepRow {
  return stepToRow(boundStep(step, maxStepOutputBytes));
}

function toStep({ startedAt, finishedAt, output, ...step }: StepRow): Step {
  return {
    ...step,
    ...(output === undefined ? {} : { output: decodeUserJson(output) }),
    ...opt('startedAt', date(startedAt)),
    ...opt('finishedAt', date(finishedAt)),
  };
}

function toAttemptRecord(row: AttemptRow): AttemptRecord {
  return {
    attempt: row.attempt,
    endedAs: row.endedAs,
    ...opt('startedAt', row.startedAt === null ? null : new Date(row.startedAt)),
    finishedAt: new Date(row.finishedAt),
    ...opt('error', row.error),
    steps: row.steps.map(toStep),
  };
}

/** An earlier attempt as the `attempts` column holds it (what an insert of a run with a history writes). */
function attemptToRow(record: AttemptRecord): AttemptRow {
  return {
    attempt: record.attempt,
    endedAs: record.endedAs,
    startedAt: record.startedAt?.toISOString() ?? null,
    finishedAt: record.finishedAt.toISOString(),
    error: record.error ?? null,
    steps: record.steps.map(stepToRow),
  };
}

/**
 * `attempts` with the current attempt's record appended as it ended (`endedAs`, an SQL text
 * expression), the newest MAX_ATTEMPT_RECORDS kept: withEndedAttempt (domain/execution.ts) in
 * SQL, reading the row as it was before the statement. Only the statements that start another
 * attempt write it, never a step write.
 */
const WITH_ENDED_ATTEMPT = (endedAs: string) => `(SELECT jsonb_agg(record ORDER BY n) FROM (
    SELECT record, n FROM jsonb_array_elements(COALESCE(attempts, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
      'attempt', attempt, 'endedAs', ${endedAs}, 'finishedAt', to_jsonb(updated_at), 'error', error,
      'startedAt', (SELECT min(s->>'startedAt') FROM jsonb_array_elements(steps) AS ran(s) WHERE (s->>'attempt')::int = attempt),
      'steps', (SELECT COALESCE(jsonb_agg(s ORDER BY i), '[]'::jsonb) FROM jsonb_array_elements(steps) WITH ORDINALITY AS ran(s, i) WHERE (s->>'attempt')::int = attempt)
    ))) WITH ORDINALITY AS history(record, n) ORDER BY n DESC LIMIT ${MAX_ATTEMPT_RECORDS}) newest)`;

/** A page cursor of the newest-first run lists: `<createdAt ms>:<executionId>`, or nulls for the first page. */
function executionCursor(page: PageRequest): [Date | null, string | null] {
  if (!page.cursor) return [null, null];
  const { createdAt, executionId } = decodeExecutionCursor(page.cursor);
  return [createdAt, executionId];
}

export const EXECUTION_COLUMNS = `execution_id, owner_id, workflow_id, workflow_version, actions, retry_policy, trigger, status, attempt, retries_left,
  next_attempt_at, lease_until, steps, error, idempotency_key, created_at, updated_at, started_at, finished_at, rerun_of`;

/** The values of EXECUTION_COLUMNS, $1 to $20, the steps stored within `maxStepOutputBytes`. */
export function executionValues(execution: Execution, maxStepOutputBytes: number): unknown[] {
  return [
    execution.executionId, execution.ownerId, execution.workflowId, execution.workflowVersion, json(encodeUserJson(execution.actions)), json(execution.retryPolicy), json(triggerToRow(execution.trigger)),
    execution.status, execution.attempt, execution.retriesLeft, execution.nextAttemptAt ?? null, execution.leaseUntil ?? null, json(execution.steps.map((step) => storedStep(step, maxStepOutputBytes))), execution.error ?? null,
    execution.idempotencyKey ?? null, execution.createdAt, execution.updatedAt, execution.startedAt ?? null, execution.finishedAt ?? null, execution.rerunOf ?? null,
  ];
}

export function createExecutionRepo(ctx: PostgresContext): ExecutionRepo {
  const { db, maxStepOutputBytes } = ctx;
  const stored = (step: Step) => storedStep(step, maxStepOutputBytes);

  /**
   * Moves up to `limit` runs in `status` whose `dueColumn` has come by store time back to
   * `queued` with `set` (SQL assignments), oldest due first, skipping rows another sweep holds.
   */
  const requeueDue = async (status: 'pending_retry' | 'waiting' | 'running', dueColumn: 'next_attempt_at' | 'lease_until', set: string | undefined, limit: number) => {
    // The status is written into the text, not bound, so that it matches the partial indexes' predicates.
    const { rows } = await query<ExecutionRow>(
      db,
      `UPDATE executions SET status='queued', updated_at=${NOW}${set ? `, ${set}` : ''}
       WHERE execution_id IN (
         SELECT execution_id FROM executions WHERE status='${status}' AND ${dueColumn} <= ${NOW}
         ORDER BY ${dueColumn} LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [limit],
    );
    return rows.map(toExecution);
  };

  const executions: ExecutionRepo = {
    async insert(execution) {
      const attempts = execution.attempts?.length ? json(execution.attempts.map(attemptToRow)) : null;
      const values = [...executionValues(execution, maxStepOutputBytes), attempts];
      await query(db, `INSERT INTO executions (${EXECUTION_COLUMNS}, attempts) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`, values).catch((err: unknown) => {
        throw err instanceof ConflictError ? new ConflictError(`execution ${execution.executionId} already exists`) : err;
      });
    },
    async get(executionId) {
      const { rows } = await query<ExecutionRow>(db, 'SELECT * FROM executions WHERE execution_id = $1', [executionId]);
      return rows[0] ? toExecution(rows[0]) : null;
    },
    async listByWorkflow(ownerId, workflowId, page) {
      const [ms, id] = executionCursor(page);
      const { rows } = await query<ExecutionRow>(
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
      const { rows } = await query<ExecutionRow>(
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
      const { rows } = await query<{ workflow_id: string; execution_id: string; status: ExecutionStatus; created_at: Date; finished_at: Date | null }>(
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
      for (const row of rows) {
        result[row.workflow_id]!.push({ executionId: row.execution_id, status: row.status, createdAt: row.created_at, ...(row.finished_at ? { finishedAt: row.finished_at } : {}) });
      }
      return result;
    },
    async runStats(ownerId, { from, to, bucketMs, top }) {
      const window = [ownerId, from, to];
      const inWindow = 'owner_id=$1 AND created_at >= $2 AND created_at < $3';
      const [bucketRows, durationRows, busiestRows, failingRows, waitingRows] = await Promise.all([
        query<{ bucket: string; status: ExecutionStatus; n: number }>(
          db,
          `SELECT floor(extract(epoch FROM (created_at - $2::timestamptz)) * 1000 / $4::bigint)::bigint AS bucket, status, count(*)::int AS n
             FROM executions WHERE ${inWindow} GROUP BY 1, 2`,
          [...window, bucketMs],
        ),
        query<{ p50: string | null; p95: string | null }>(
          db,
          `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d) AS p50, percentile_disc(0.95) WITHIN GROUP (ORDER BY d) AS p95
             FROM (SELECT extract(epoch FROM (finished_at - COALESCE(started_at, created_at))) * 1000 AS d
                     FROM executions WHERE ${inWindow} AND finished_at IS NOT NULL) finished`,
          window,
        ),
        query<{ workflow_id: string; runs: number }>(
          db,
          `SELECT workflow_id, count(*)::int AS runs FROM executions WHERE ${inWindow}
            GROUP BY workflow_id ORDER BY runs DESC, workflow_id COLLATE "C" LIMIT $4`,
          [...window, top],
        ),
        query<{ workflow_id: string; runs: number; failed: number }>(
          db,
          `SELECT workflow_id, count(*)::int AS runs, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM executions WHERE ${inWindow}
            GROUP BY workflow_id HAVING count(*) FILTER (WHERE status = 'failed') > 0 ORDER BY failed DESC, workflow_id COLLATE "C" LIMIT $4`,
          [...window, top],
        ),
        query<{ n: number }>(db, `SELECT count(*)::int AS n FROM executions WHERE owner_id=$1 AND status='pending_retry'`, [ownerId]),
      ]);
      const buckets = new Map<number, StatusCounts>();
      const totals = emptyStatusCounts();
      for (const row of bucketRows.rows) {
        const counts = buckets.get(Number(row.bucket)) ?? emptyStatusCounts();
        counts[row.status] += row.n;
        totals[row.status] += row.n;
        buckets.set(Number(row.bucket), counts);
      }
      const durations = durationRows.rows[0];
      return {
        buckets: [...buckets].sort(([a], [b]) => a - b).map(([bucket, counts]) => ({ start: new Date(from.getTime() + bucket * bucketMs), counts })),
        totals,
        durationMs: durations?.p50 != null && durations.p95 != null ? { p50: Number(durations.p50), p95: Number(durations.p95) } : null,
        busiest: busiestRows.rows.map((r) => ({ workflowId: r.workflow_id, runs: r.runs })),
        mostFailing: failingRows.rows.map((r) => ({ workflowId: r.workflow_id, failed: r.failed, runs: r.runs })),
        waitingForRetry: waitingRows.rows[0]?.n ?? 0,
      };
    },
    async claimForRun(executionId, attempt, leaseMs) {
      const { rows } = await query<ExecutionRow>(
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
      const { rows } = await query<ExecutionRow>(
        db,
        `UPDATE executions e SET status='running', lease_until=${NOW_PLUS('$3')}, started_at=COALESCE(e.started_at, ${NOW}), updated_at=${NOW}
         FROM unnest($1::text[], $2::integer[]) AS c(execution_id, attempt)
         WHERE e.execution_id=c.execution_id AND e.attempt=c.attempt AND (e.status='queued' OR (e.status='running' AND e.lease_until <= ${NOW}))
         RETURNING e.*`,
        [claims.map((c) => c.executionId), claims.map((c) => c.attempt), leaseMs],
      );
      return rows.map(toExecution);
    },
    async setLease(executionId, attempt, leaseMs) {
      const { rowCount } = await query(db, `UPDATE executions SET lease_until=${NOW_PLUS('$3')} WHERE execution_id=$1 AND attempt=$2 AND status='running'`, [executionId, attempt, leaseMs]);
      return (rowCount ?? 0) > 0;
    },
    async saveStep(executionId, attempt, step, leaseMs) {
      const at = step.finishedAt ?? step.startedAt ?? null;
      const { rowCount } = await query(
        db,
        `UPDATE executions SET steps = jsonb_set(steps, ARRAY[$3::text], $4::jsonb), lease_until=${NOW_PLUS('$5')}, updated_at=COALESCE($6, updated_at)
         WHERE execution_id=$1 AND attempt=$2 AND status='running'`,
        [executionId, attempt, String(step.index), json(stored(step)), leaseMs, at],
      );
      return (rowCount ?? 0) > 0;
    },
    async saveSteps(saves, leaseMs) {
      if (saves.length === 0) return [];
      // The conditions of saveStep, row by row; of an execution listed twice, the first entry only.
      const { rows } = await query<{ execution_id: string }>(
        db,
        `UPDATE executions e SET steps = jsonb_set(e.steps, ARRAY[s.step_index::text], s.step), lease_until=${NOW_PLUS('$6')}, updated_at=COALESCE(s.at, e.updated_at)
         FROM (SELECT DISTINCT ON (execution_id) * FROM unnest($1::text[], $2::integer[], $3::integer[], $4::jsonb[], $5::timestamptz[])
               WITH ORDINALITY AS s(execution_id, attempt, step_index, step, at, n) ORDER BY execution_id, n) AS s
         WHERE e.execution_id=s.execution_id AND e.attempt=s.attempt AND e.status='running'
         RETURNING e.execution_id`,
        [
          saves.map((s) => s.executionId), saves.map((s) => s.attempt), saves.map((s) => s.step.index), saves.map((s) => json(stored(s.step))),
          saves.map((s) => s.step.finishedAt ?? s.step.startedAt ?? null), leaseMs,
        ],
      );
      return rows.map((row) => row.execution_id);
    },
    async finishAttempt(executionId, attempt, outcome) {
      const finished = outcome.status === 'completed' || outcome.status === 'failed';
      const { rowCount } = await query(
        db,
        `UPDATE executions SET status=$3, retries_left=$4, updated_at=$5, next_attempt_at=$6, error=$7, lease_until=NULL,
           finished_at = CASE WHEN $8 THEN $5 ELSE finished_at END,
           steps = CASE WHEN $9::text IS NULL THEN steps ELSE jsonb_set(steps, ARRAY[$9::text], $10::jsonb) END
         WHERE execution_id=$1 AND attempt=$2 AND status='running'`,
        [
          executionId, attempt, outcome.status, outcome.retriesLeft, outcome.at, outcome.nextAttemptAt ?? null, outcome.error === undefined ? null : boundError(outcome.error, maxStepOutputBytes), finished,
          outcome.step ? String(outcome.step.index) : null, outcome.step ? json(stored(outcome.step)) : null,
        ],
      );
      return (rowCount ?? 0) > 0;
    },
    async endAttempts(ends) {
      if (ends.length === 0) return [];
      // One statement, so atomic without a transaction. `ends` keeps the first entry of each
      // execution; the trigger and the message are written for the runs `ended` returns only.
      const column = <T>(value: (end: AttemptEnding) => T) => ends.map(value);
      const { rows } = await query<{ execution_id: string }>(
        db,
        `WITH ends AS (
           SELECT DISTINCT ON (execution_id) * FROM unnest($1::text[], $2::integer[], $3::text[], $4::integer[], $5::timestamptz[], $6::timestamptz[], $7::text[],
             $8::integer[], $9::jsonb[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::jsonb[], $17::timestamptz[], $18::integer[])
           WITH ORDINALITY AS f(execution_id, attempt, status, retries_left, at, next_attempt_at, error, step_index, step, owner_id, workflow_id, trigger_status,
             message_id, topic, key, event, created_at, attempts, n)
           ORDER BY execution_id, n),
         ended AS (
           UPDATE executions e SET status=f.status, retries_left=f.retries_left, updated_at=f.at, next_attempt_at=f.next_attempt_at, error=f.error, lease_until=NULL,
             finished_at = CASE WHEN f.status IN ('completed', 'failed') THEN f.at ELSE e.finished_at END,
             steps = CASE WHEN f.step_index IS NULL THEN e.steps ELSE jsonb_set(e.steps, ARRAY[f.step_index::text], f.step) END
           FROM ends f WHERE e.execution_id=f.execution_id AND e.attempt=f.attempt AND e.status='running'
           RETURNING e.execution_id),
         triggers AS (
           UPDATE workflows w SET trigger_status=f.trigger_status, trigger_execution_id = CASE WHEN f.trigger_status = 'idle' THEN NULL ELSE f.execution_id END, updated_at=f.at
           FROM ends f JOIN ended USING (execution_id)
           WHERE w.owner_id=f.owner_id AND w.workflow_id=f.workflow_id AND w.trigger_status IN ('busy', 'pending')
             AND (w.trigger_execution_id IS NULL OR w.trigger_execution_id=f.execution_id)),
         results AS (
           INSERT INTO outbox (id, topic, key, event, created_at, attempts)
           SELECT f.message_id, f.topic, f.key, f.event, f.created_at, f.attempts FROM ends f JOIN ended USING (execution_id) ORDER BY f.n)
         SELECT execution_id FROM ended`,
        [
          column((end) => end.executionId), column((end) => end.attempt), column((end) => end.update.status), column((end) => end.update.retriesLeft),
          column((end) => end.update.at), column((end) => end.update.nextAttemptAt ?? null),
          column((end) => (end.update.error === undefined ? null : boundError(end.update.error, maxStepOutputBytes))),
          column((end) => end.update.step?.index ?? null), column((end) => (end.update.step ? json(stored(end.update.step)) : null)),
          column((end) => end.ownerId), column((end) => end.workflowId), column((end) => end.trigger),
          column((end) => end.message.id), column((end) => end.message.topic), column((end) => end.message.key), column((end) => json(end.message.event)),
          column((end) => end.message.createdAt), column((end) => end.message.attempts),
        ],
      ).catch((err: unknown) => {
        throw err instanceof ConflictError ? new ConflictError('a result message is already in the outbox') : err;
      });
      return rows.map((row) => row.execution_id);
    },
    async cancel(executionId, at) {
      // Steps are rewritten in the same statement: a step still running is failed as cancelled.
      const { rows } = await query<ExecutionRow>(
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
      const { rows } = await query<ExecutionRow>(
        db,
        `UPDATE executions SET status='queued', attempt=attempt+1, retries_left=$4, updated_at=$3, error=NULL, finished_at=NULL, next_attempt_at=NULL, lease_until=NULL,
           attempts = ${WITH_ENDED_ATTEMPT('status')},
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
      const { rowCount } = await query(
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
      const { rowCount } = await query(
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
    requeueDueRetries(limit) {
      return requeueDue('pending_retry', 'next_attempt_at', `attempt=attempt+1, next_attempt_at=NULL, attempts = ${WITH_ENDED_ATTEMPT(`'pending_retry'`)}`, limit);
    },
    resumeDueWaits(limit) {
      return requeueDue('waiting', 'next_attempt_at', undefined, limit);
    },
    requeueExpiredLeases(limit) {
      return requeueDue('running', 'lease_until', `lease_until=NULL, attempts = ${WITH_ENDED_ATTEMPT(`'lease_expired'`)}`, limit);
    },
    async requeueStaleQueued(queuedForMs, limit) {
      // Both lookups are index probes: queued runs by age, then each one's request among the
      // unpublished outbox rows (outbox_unpublished_execution_idx). A filter on the event type
      // as well would lose that: the planner, with no statistics for it, would scan them all.
      const { rows } = await query<ExecutionRow>(
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
      const { rows } = await query<Record<Counted | 'live_rows', string | null>>(db, SCRAPE_SQL.countByStatus);
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
  return executions;
}
