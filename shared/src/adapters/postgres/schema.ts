/** Ordered, append-only: a migration once released is never edited, only followed. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    user_id       text PRIMARY KEY,
    email         text NOT NULL CONSTRAINT users_email_key UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
  );

  CREATE TABLE workflows (
    owner_id       text NOT NULL,
    workflow_id    text NOT NULL,
    name           text NOT NULL,
    enabled        boolean NOT NULL,
    trigger_spec   jsonb NOT NULL,
    trigger_status text NOT NULL,
    next_run_at    timestamptz,
    lease_until    timestamptz,
    hook_id        text CONSTRAINT workflows_hook_id_key UNIQUE,
    secret_hash    text,
    actions        jsonb NOT NULL,
    retry_policy   jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        integer NOT NULL,
    CONSTRAINT workflows_pkey PRIMARY KEY (owner_id, workflow_id)
  );
  -- The scheduler's claim: enabled workflows by due time.
  CREATE INDEX workflows_due_idx ON workflows (next_run_at) WHERE enabled AND next_run_at IS NOT NULL;

  CREATE TABLE executions (
    execution_id     text PRIMARY KEY,
    owner_id         text NOT NULL,
    workflow_id      text NOT NULL,
    workflow_version integer NOT NULL,
    actions          jsonb NOT NULL,
    retry_policy     jsonb NOT NULL,
    trigger          jsonb NOT NULL,
    status           text NOT NULL,
    attempt          integer NOT NULL,
    retries_left     integer NOT NULL,
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    steps            jsonb NOT NULL,
    error            text,
    idempotency_key  text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz
  );
  CREATE INDEX executions_history_idx ON executions (owner_id, workflow_id, created_at DESC, execution_id DESC);
  CREATE INDEX executions_due_retries_idx ON executions (next_attempt_at) WHERE status = 'pending_retry';
  CREATE INDEX executions_leases_idx ON executions (lease_until) WHERE status = 'running';
  CREATE INDEX executions_status_idx ON executions (status);

  CREATE TABLE outbox (
    seq          bigserial,
    id           text PRIMARY KEY,
    topic        text NOT NULL,
    key          text NOT NULL,
    event        jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    locked_until timestamptz
  );
  CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;
  CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

  CREATE TABLE idempotency_keys (
    owner_id     text NOT NULL,
    key          text NOT NULL,
    execution_id text NOT NULL,
    created_at   timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner_id, key)
  );
  `,
  // executions_status_idx served only the by-status count of the metrics scrape, which reads
  // most of the table anyway; every run's status changes paid for it on each write.
  `DROP INDEX IF EXISTS executions_status_idx;`,
  // countByStatus counts queued and failed runs on these, as it counts running and
  // pending_retry ones on the claim indexes, so a metrics scrape never reads the history.
  // The purge of expired idempotency keys finds them by age.
  `
  CREATE INDEX executions_queued_idx ON executions (updated_at) WHERE status = 'queued';
  CREATE INDEX executions_failed_idx ON executions (finished_at) WHERE status = 'failed';
  CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
  `,
  // requeueStaleQueued: whether the outbox still holds a queued run's request, one index probe
  // per run (the queued runs themselves come by age from executions_queued_idx).
  `
  CREATE INDEX outbox_unpublished_execution_idx ON outbox ((event->'data'->>'executionId')) WHERE published_at IS NULL;
  `,
  // The dashboard: logout raises a user's session version; all of an owner's runs newest
  // first (lists across workflows, the overview's time window) read this index.
  `ALTER TABLE users ADD COLUMN session_version integer NOT NULL DEFAULT 0;
   CREATE INDEX executions_owner_created_idx ON executions (owner_id, created_at DESC, execution_id DESC);`,
  // The run holding a busy or pending trigger: only that run moves it on (see setTriggerStatus).
  `ALTER TABLE workflows ADD COLUMN trigger_execution_id text;`,
  // Which relay's claim holds an outbox row: only that relay marks it published or failed.
  `ALTER TABLE outbox ADD COLUMN lock_token text;`,
  // Run control: a re-run from the start names the run it repeats; a workflow may keep fewer
  // runs; cancelled runs are counted on an index of their own like failed ones; retention
  // deletes finished runs by finish time (finished_at is set on finished runs only).
  `ALTER TABLE executions ADD COLUMN rerun_of text;
   ALTER TABLE workflows ADD COLUMN retention jsonb;
   CREATE INDEX executions_cancelled_idx ON executions (finished_at) WHERE status = 'cancelled';
   CREATE INDEX executions_finished_idx ON executions (finished_at) WHERE finished_at IS NOT NULL;
   CREATE INDEX workflows_run_limit_idx ON workflows (owner_id, workflow_id) WHERE retention IS NOT NULL;`,
  // Secrets: per user and name, the value only as AES-256-GCM ciphertext made by the services.
  // Durable delays: runs waiting at a delay step.
  `
  CREATE TABLE secrets (
    owner_id   text NOT NULL,
    name       text NOT NULL,
    ciphertext text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT secrets_pkey PRIMARY KEY (owner_id, name)
  );
  -- Runs parked at a delay step, by when they resume (resumeDueWaits; countByStatus).
  CREATE INDEX executions_waiting_idx ON executions (next_attempt_at) WHERE status = 'waiting';
  `,
  // A run's earlier attempts (Execution.attempts), written only when another attempt starts;
  // null until then, so adding it rewrites nothing.
  `ALTER TABLE executions ADD COLUMN attempts jsonb;`,
];

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
