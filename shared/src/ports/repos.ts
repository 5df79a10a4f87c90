import type { Execution, ExecutionStatus, Step } from '../domain/execution.js';
import type { RecentRun, RunFilter, RunStats, RunStatsQuery } from '../domain/run-stats.js';
import type { OutboxMessage } from '../domain/outbox.js';
import type { SecretInfo, StoredSecret } from '../domain/secret.js';
import type { User } from '../domain/user.js';
import type { TriggerStatus, Workflow, WorkflowRevision } from '../domain/workflow.js';

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; absent on the last page. */
  nextCursor?: string;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

/*
 * Time. Leases, locks and due times are judged by the store's clock ("store time" below),
 * never by the caller's: processes whose clocks disagree still agree on when a lease ends, so
 * a scheduler whose clock runs ahead cannot hand a live run to a second runner, nor a relay
 * take another's batch. The methods that set or compare them take durations, not instants.
 * PostgreSQL reads statement_timestamp(), MongoDB the server's clock, the memory store the
 * clock it was created with; all to the millisecond.
 * Instants a caller passes (`at`, `nextRunAt`, `nextAttemptAt`, `notBefore`, `before`) are
 * recorded and compared as given: a due time computed on a skewed clock falls due early or
 * late by the skew, which never runs anything twice. Callers that compute due times take
 * "now" from `Store.now()`.
 */

/**
 * Workflows by owner. Writes that lose a race throw `ConflictError`; reads return copies,
 * so mutating a returned object never changes the store.
 */
export interface WorkflowRepo {
  /** Throws `ConflictError` when the owner already has this workflowId (or the hookId is taken). */
  create(workflow: Workflow): Promise<void>;
  get(ownerId: string, workflowId: string): Promise<Workflow | null>;
  /** Ordered by workflowId; only those whose workflowId starts with `idPrefix`, when given (the dashboard's search). */
  list(ownerId: string, page: PageRequest, idPrefix?: string): Promise<Page<Workflow>>;
  /**
   * Replaces the definition when the stored version equals `expectedVersion`; the stored
   * document gets `workflow.version`. `trigger.status` and `trigger.leaseUntil` are kept as
   * stored (they belong to the runs, and a replace must never rewind them), and so is
   * `trigger.nextRunAt` while the trigger spec (type, interval, cron, timezone) is unchanged:
   * the scheduler advances it without a version bump, so the copy given may be older, and
   * writing it back would make a due time fire twice. A changed spec takes the given
   * `nextRunAt`. Throws `ConflictError` on a version mismatch and `NotFoundError` when it is gone.
   */
  replace(workflow: Workflow, expectedVersion: number): Promise<void>;
  delete(ownerId: string, workflowId: string): Promise<boolean>;
  findByHookId(hookId: string): Promise<Workflow | null>;
  /**
   * Compare-and-set of `trigger.status` on behalf of the run `executionId`: succeeds only when
   * the current status is one of `from` and the trigger is free or held by that run. Going
   * busy or pending, the run holds the trigger (`trigger.executionId`); going idle releases
   * it. So a run only ever moves its own trigger, never that of a workflow deleted and
   * recreated under the same id while it ran. (A busy trigger without a holder, written before
   * holders were recorded, counts as free.) Returns false when the workflow is missing, in
   * another status, or held by another run.
   */
  setTriggerStatus(ownerId: string, workflowId: string, executionId: string, from: readonly TriggerStatus[], to: TriggerStatus, at: Date): Promise<boolean>;
  /**
   * Accepts a run, atomically on its own (no unit of work needed; one statement on
   * PostgreSQL): moves the trigger of `execution`'s workflow from idle to busy held by the
   * execution, exactly as `setTriggerStatus(…, ['idle'], 'busy', execution.createdAt)` does,
   * inserts `execution` and its `request` message into the outbox. With `asRead`, only
   * while the workflow is still the revision the caller read outside a transaction (the
   * same version of the same workflow, not one deleted and created again since). Returns
   * false and writes nothing when the workflow is missing, not idle, held by another run,
   * or another revision; the caller reads why.
   */
  acceptRun(execution: Execution, request: OutboxMessage, asRead?: WorkflowRevision): Promise<boolean>;
  /**
   * `acceptRun` for many runs at once: one statement on PostgreSQL, one transaction on
   * MongoDB. Each run is accepted or not on the terms `acceptRun` sets it; of runs of the
   * same workflow, one at most. Returns the executionIds accepted. A write the store refuses
   * (an execution or message id already there) fails the whole call, and nothing is written.
   */
  acceptRuns(accepts: readonly RunAcceptance[]): Promise<string[]>;
  /**
   * Atomically claims up to `limit` enabled scheduled workflows whose `nextRunAt` has come
   * and whose lease (if any) has expired, by store time: sets `leaseUntil` to store time +
   * `leaseMs`. Two callers never get the same workflow while its lease lasts.
   */
  claimDueScheduled(leaseMs: number, limit: number): Promise<Workflow[]>;
  /**
   * Ends a claim: sets `nextRunAt` and clears the lease, only if `nextRunAt` still equals
   * `dueAt` (the value the claim saw). Returns false if another writer moved it.
   */
  advanceSchedule(ownerId: string, workflowId: string, dueAt: Date, nextRunAt: Date | undefined): Promise<boolean>;
  /** The earliest `nextRunAt` after `after` among enabled scheduled workflows, or null: when the scheduler next has work. */
  nextDueAt(after: Date): Promise<Date | null>;
  /**
   * Up to `limit` workflows (of every owner) that keep fewer runs than the retention period
   * allows (`retention.maxRuns`), ordered by owner then workflowId, those after `after` only:
   * what the retention job trims.
   */
  withRunLimit(after: RunLimit | undefined, limit: number): Promise<RunLimit[]>;
}

/** A workflow that keeps only its newest `maxRuns` runs. */
export interface RunLimit {
  ownerId: string;
  workflowId: string;
  maxRuns: number;
}

export interface ExecutionRepo {
  insert(execution: Execution): Promise<void>;
  get(executionId: string): Promise<Execution | null>;
  /** Newest first (createdAt, then executionId). */
  listByWorkflow(ownerId: string, workflowId: string, page: PageRequest): Promise<Page<Execution>>;
  /** The owner's runs matching `filter` (every condition given must hold), newest first like `listByWorkflow`. */
  listRuns(ownerId: string, filter: RunFilter, page: PageRequest): Promise<Page<Execution>>;
  /**
   * The newest `perWorkflow` runs of each of the owner's `workflowIds`, newest first (a
   * workflow without runs has an empty list): one query for a page of workflows.
   */
  recentRuns(ownerId: string, workflowIds: readonly string[], perWorkflow: number): Promise<Record<string, RecentRun[]>>;
  /**
   * Aggregates of the owner's runs created in `[from, to)`, computed by the store (never by
   * reading the runs one by one): counts per time bucket and status, duration percentiles
   * of finished runs, the busiest and most failing workflows; and how many of the owner's
   * runs wait for a retry now, whenever they were created.
   */
  runStats(ownerId: string, query: RunStatsQuery): Promise<RunStats>;
  /**
   * Takes an execution for running: succeeds when it is `queued` on `attempt`, or
   * `running` on `attempt` with a lease expired by store time (its runner died). Sets
   * `running`, `leaseUntil` (store time + `leaseMs`), `startedAt` (first time only) and
   * `updatedAt` (store time). Returns the updated execution, or null.
   */
  claimForRun(executionId: string, attempt: number, leaseMs: number): Promise<Execution | null>;
  /**
   * `claimForRun` of many runs in one write: each of `claims` taken as `claimForRun` would take
   * it alone. Returns the executions claimed, in no particular order (each at most once).
   */
  claimManyForRun(claims: readonly { executionId: string; attempt: number }[], leaseMs: number): Promise<Execution[]>;
  /** Sets the lease of a `running` execution to store time + `leaseMs` (0: it ends now, so a redelivery takes the run over at once); false if it is no longer running on `attempt`. */
  setLease(executionId: string, attempt: number, leaseMs: number): Promise<boolean>;
  /** Records one step while `running` on `attempt`, with the lease as in `setLease`; false if the run was taken away. */
  saveStep(executionId: string, attempt: number, step: Step, leaseMs: number): Promise<boolean>;
  /**
   * `saveStep` of many runs in one write (one statement on PostgreSQL), each of `saves` as
   * `saveStep(executionId, attempt, step, leaseMs)` would do it alone. Returns the executionIds
   * whose step was recorded, in no particular order; an execution listed twice is written by
   * its first entry only.
   */
  saveSteps(saves: readonly StepSave[], leaseMs: number): Promise<string[]>;
  /**
   * Moves `running` on `attempt` to a new status with the given fields (`pending_retry`
   * with `nextAttemptAt`, `completed`, `failed`), recording `step` (the attempt's last) in
   * the same write when given. False if it was not running on `attempt`.
   */
  finishAttempt(executionId: string, attempt: number, update: AttemptUpdate): Promise<boolean>;
  /**
   * Ends many attempts in one write (one statement on PostgreSQL; all or none of it lands).
   * Each of `ends`, in order, as a unit of work doing these alone would: `finishAttempt`, and
   * only when that succeeds, its workflow's trigger moved to `trigger` as
   * `setTriggerStatus(ownerId, workflowId, executionId, ['busy', 'pending'], trigger, update.at)`
   * does (while the run holds it), and `message` added to the outbox. Returns the executionIds
   * ended, in no particular order; an execution listed twice is ended by its first entry.
   * Throws `ConflictError`, writing nothing, when a message id is already in the outbox.
   */
  endAttempts(ends: readonly AttemptEnding[]): Promise<string[]>;
  /**
   * Ends a run that has not finished (any status but those of `FINISHED_STATUSES`) as
   * `cancelled` at `at`, in one compare-and-set write: clears its lease and due time, and a step
   * still `running` becomes `failed` with `CANCELLED_STEP_ERROR` (steps that never started stay
   * `pending`). Every write of a runner is conditioned on `running`, so after this none lands,
   * and of a cancel and the run's own finish exactly one wins. Returns the run as updated, or
   * null when it is missing or already finished.
   */
  cancel(executionId: string, at: Date): Promise<Execution | null>;
  /**
   * Re-runs a `failed` or `cancelled` run in place (see `RESUMABLE_STATUSES`), when it is still
   * in one on `attempt`: `queued` on attempt + 1 with `retriesLeft`, its succeeded steps kept and
   * the others `pending` again, `error`, `finishedAt` and `nextAttemptAt` cleared, the attempt it
   * ends kept in `attempts` as `withEndedAttempt` records it (ended as its status). Returns the
   * run as updated, or null.
   */
  resume(executionId: string, attempt: number, at: Date, retriesLeft: number): Promise<Execution | null>;
  /** Deletes up to `limit` finished runs (of any owner) that finished before `before`; returns how many. */
  purgeFinished(before: Date, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` finished runs of the workflow that are older than its newest `keep`
   * runs (of any status; newest by createdAt, then executionId); returns how many.
   */
  purgeBeyond(ownerId: string, workflowId: string, keep: number, limit: number): Promise<number>;
  /**
   * Claims up to `limit` executions that are `pending_retry` with `nextAttemptAt` come by
   * store time and moves each to `queued` on the next attempt, the attempt it ends kept in
   * `attempts` (ended as `pending_retry`, see `withEndedAttempt`). Returns them as updated.
   */
  requeueDueRetries(limit: number): Promise<Execution[]>;
  /**
   * Claims up to `limit` executions that are `waiting` (parked at a delay) with
   * `nextAttemptAt` come by store time and moves each to `queued` on the same attempt,
   * earliest first, keeping `nextAttemptAt` (when it was due, for lateness). Returns them as updated.
   */
  resumeDueWaits(limit: number): Promise<Execution[]>;
  /**
   * Claims up to `limit` executions that are `running` with a lease expired by store time
   * (their runner died) and moves them back to `queued` on the same attempt, what that attempt
   * did kept in `attempts` (ended as `lease_expired`, see `withEndedAttempt`). Nothing else
   * writes `attempts`: a step write never does.
   */
  requeueExpiredLeases(limit: number): Promise<Execution[]>;
  /**
   * Claims up to `limit` executions `queued` for `queuedForMs` or longer by store time, of
   * which no message for the current attempt (its `ExecutionRequested`) is still waiting in
   * the outbox: the relay sent the request, yet no runner took the run, so the message was
   * lost on the way (topic recreated, retention, consumer group reset). A queued execution's
   * `updatedAt` is when its request was last written (accepted, by the accepting process's
   * clock; requeued or re-published, by store time: nothing else writes a queued run); this
   * sets it to store time, so that a run is claimed again only once as long has passed again.
   * (A clock that was off when the run was accepted makes that first wait longer or shorter;
   * a request sent twice is skipped by the runner that finds the run taken.) Returns them as updated, the longest waiting taken
   * first; the caller writes their new requests in the same unit of work. A request still in
   * the outbox is left to the relay.
   */
  requeueStaleQueued(queuedForMs: number, limit: number): Promise<Execution[]>;
  /**
   * Counts by status, for metrics, without reading the history: every status but `completed`
   * exactly, each counted on an index of only the executions in it; `completed` (the bulk of
   * the history) as the store's estimate of all executions less those, which a durable store
   * may update some seconds late.
   */
  countByStatus(): Promise<Record<ExecutionStatus, number>>;
}

/** A run to accept by `WorkflowRepo.acceptRuns`: `acceptRun`'s arguments. */
export interface RunAcceptance {
  execution: Execution;
  request: OutboxMessage;
  asRead?: WorkflowRevision;
}

/** A step to record by `ExecutionRepo.saveSteps`. */
export interface StepSave {
  executionId: string;
  attempt: number;
  step: Step;
}

/** How `finishAttempt` leaves an attempt: its new status and fields, and its last step when given. */
export interface AttemptUpdate {
  status: Exclude<ExecutionStatus, 'queued' | 'running'>;
  at: Date;
  nextAttemptAt?: Date;
  error?: string;
  retriesLeft: number;
  step?: Step;
}

/** One attempt ended by `ExecutionRepo.endAttempts`, with the trigger status of its workflow after it and its result event. */
export interface AttemptEnding {
  executionId: string;
  attempt: number;
  update: AttemptUpdate;
  ownerId: string;
  workflowId: string;
  trigger: TriggerStatus;
  message: OutboxMessage;
}

/** Messages a relay claimed, and the token that proves it still holds them. */
export interface OutboxBatch {
  lockToken: string;
  messages: OutboxMessage[];
}

export interface OutboxRepo {
  add(message: OutboxMessage): Promise<void>;
  /**
   * Claims up to `limit` unpublished messages, in the order they were added, whose lock (if
   * any) has expired by store time, locking them until store time + `lockMs` under a new
   * lock token, so two relays do not publish the same batch.
   */
  claimBatch(lockMs: number, limit: number): Promise<OutboxBatch>;
  /**
   * Marks published those of `ids` still locked by `lockToken` (even past the lock's expiry, as
   * long as no other relay claimed them since); returns how many. A relay whose lock expired
   * mid-publish thus never touches what another relay claimed in the meantime.
   */
  markPublished(lockToken: string, ids: readonly string[], at: Date): Promise<number>;
  /**
   * For those of `ids` still locked by `lockToken`: releases the lock, counts the attempt and
   * keeps the error; the message stays pending. Returns how many.
   */
  markFailed(lockToken: string, ids: readonly string[], error: string): Promise<number>;
  /**
   * One relay pass: claims up to `limit` unpublished messages in the order they were added
   * (none another relay holds), hands them to `publish`, then marks them published once it
   * resolves; when it rejects, releases them with the attempt counted and the error kept, and
   * rethrows. While `publish` runs no other relay gets them, and a relay that lost its claim
   * meanwhile marks nothing. Returns how many were claimed and how many marked published.
   * PostgreSQL holds the rows' locks in a transaction over the publish, so each message is
   * written once; the other stores claim under a token with a lock of `lockMs`
   * (`claimBatch`, then `markPublished` or `markFailed`).
   */
  relay(lockMs: number, limit: number, publish: (messages: OutboxMessage[]) => Promise<void>): Promise<{ claimed: number; marked: number }>;
  /** Deletes up to `limit` messages published before `before`; returns how many. */
  purgePublished(before: Date, limit: number): Promise<number>;
  /** Unpublished count and the age of the oldest unpublished message, read from an index of the unpublished ones only. */
  backlog(now: Date): Promise<{ count: number; oldestAgeMs: number }>;
}

export interface UserRepo {
  /** Throws `ConflictError` when the email is taken. */
  create(user: User): Promise<void>;
  findByEmail(email: string): Promise<User | null>;
  findById(userId: string): Promise<User | null>;
  /** Increments `sessionVersion` atomically; the new version, or null for an unknown user. */
  revokeSessions(userId: string): Promise<number | null>;
}

/** Idempotency keys of trigger requests, per owner. */
export interface IdempotencyRepo {
  /** The executionId recorded for this key at or after `notBefore`, if any. */
  find(ownerId: string, key: string, notBefore: Date): Promise<string | null>;
  /**
   * Records the key for `executionId` (replacing an entry older than `notBefore`) unless a
   * live entry exists, and returns the executionId the key stands for: `executionId` when it
   * was recorded, the live entry's otherwise. Of concurrent units of work recording the same
   * key, one records it and every other gets that one's executionId once it commits (it waits
   * for it, or is retried): none fails for the race. Call it before any other write of the
   * unit of work, so that a loser holds nothing while it waits.
   */
  putIfAbsent(ownerId: string, key: string, executionId: string, at: Date, notBefore: Date): Promise<string>;
  /** Deletes up to `limit` keys recorded before `before`; returns how many. */
  purgeExpired(before: Date, limit: number): Promise<number>;
}

/** A user's secrets, by name; values only as ciphertext. */
export interface SecretRepo {
  /** Creates or replaces the owner's secret of that name (a replace keeps `createdAt`); true when it was created. */
  put(secret: StoredSecret): Promise<boolean>;
  /** The owner's secrets, ordered by name, without their ciphertexts. */
  list(ownerId: string): Promise<SecretInfo[]>;
  /** Those of `names` the owner has (others are simply absent). */
  getMany(ownerId: string, names: readonly string[]): Promise<StoredSecret[]>;
  delete(ownerId: string, name: string): Promise<boolean>;
}

export interface Repos {
  workflows: WorkflowRepo;
  executions: ExecutionRepo;
  outbox: OutboxRepo;
  users: UserRepo;
  idempotency: IdempotencyRepo;
  secrets: SecretRepo;
}

/** Runs `work` in one transaction: every write through `tx` lands, or none does. */
export interface UnitOfWork {
  run<T>(work: (tx: Repos) => Promise<T>): Promise<T>;
}

/** A configured store: repos for single writes, a unit of work for atomic groups. */
export interface Store extends Repos {
  readonly kind: 'memory' | 'mongo' | 'postgres';
  uow: UnitOfWork;
  /** Store time (see Time, above): what leases and due times are judged by. */
  now(): Promise<Date>;
  /** Creates indexes / applies migrations. Idempotent. */
  init(): Promise<void>;
  /** Throws `UnavailableError` when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
