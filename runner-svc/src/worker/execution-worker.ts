import {
  boundError,
  DEFAULT_ACTION_TIMEOUT_MS,
  MAX_EVENT_ERROR_BYTES,
  retryDelayMs,
  runResultMessage,
  stepSettings,
  stepTimeoutMs,
  type Action,
  type AttemptEnding,
  type Clock,
  type Execution,
  type ExecutionRequested,
  type GroupCommit,
  type Logger,
  type OutboxMessage,
  type RetryPolicy,
  type Step,
  type Store,
  type Topics,
} from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';
import type { ActionRegistry } from '../actions/index.js';
import type { SecretResolver } from './secrets.js';
import { lazyChild } from './lazy-logger.js';
import { isSettled, StepRunner } from './step-runner.js';

/** Why a run stopped at a step, and how that step may be retried. */
interface Failure {
  error: string;
  permanent: boolean;
  /** The step's failures so far, this one included. */
  failures: number;
  /** The step's own retry policy, if it has one. */
  retry?: RetryPolicy;
}

export type HandleOutcome = 'completed' | 'waiting' | 'pending_retry' | 'failed' | 'skipped' | 'lost' | 'cancelled';

/** How often a step in flight looks whether its run was cancelled, unless configured. */
export const DEFAULT_CANCEL_POLL_MS = 1_000;

export interface ExecutionWorkerDeps {
  store: Store;
  /** The store's group commit: the writes of the executions this worker runs concurrently share transactions under load. */
  groupCommit: GroupCommit;
  actions: ActionRegistry;
  /** Opens the secrets steps refer to. */
  secrets?: SecretResolver;
  clock: Clock;
  logger: Logger;
  topics: Topics;
  config: { leaseMarginMs: number; random?: () => number; cancelPollMs?: number };
  metrics?: Metrics;
}

/**
 * Runs one requested execution attempt: claims it, runs its actions in order from the first
 * that has not succeeded, records every step, and ends the attempt (completed, pending
 * retry or failed) together with the workflow's trigger status and the result event, in
 * one write (`ExecutionRepo.endAttempts`, shared with the other runs that finish in the same
 * turn of the event loop). Safe to call twice for the same event: a claim that fails means
 * someone else has it or it is done. When handling throws (the store refused a write), the
 * claim is given back so that the redelivery can resume the run; `giveUp` ends a run whose
 * request keeps failing.
 */
export class ExecutionWorker {
  private readonly writes: GroupCommit;
  private readonly steps: StepRunner;

  constructor(private readonly deps: ExecutionWorkerDeps) {
    this.writes = deps.groupCommit;
    this.steps = new StepRunner({
      actions: deps.actions,
      clock: deps.clock,
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
  }

  async handle(event: ExecutionRequested): Promise<HandleOutcome> {
    const { executionId, attempt } = event.data;
    const log = this.logFor(event);
    const firstLease = this.leaseMs(undefined);
    const execution = await this.writes.claimForRun(executionId, attempt, firstLease);
    if (!execution) {
      log.debug('execution not claimable (finished, running elsewhere, or a stale attempt); skipped');
      return 'skipped';
    }
    log.info('execution started');
    try {
      return await this.run(execution, log);
    } catch (err) {
      await this.releaseClaim(executionId, attempt, log);
      throw err;
    }
  }

  /**
   * Ends a run whose request could not be handled: `failed` with `reason`, its workflow idle
   * again and its result event, in one unit of work. It takes the run as `handle` does (queued,
   * or running with a claim given back or expired); when it cannot (finished, another attempt,
   * running elsewhere) it leaves the run alone and returns false.
   */
  async giveUp(event: ExecutionRequested, reason: string): Promise<boolean> {
    const { clock, metrics } = this.deps;
    const { executionId, attempt } = event.data;
    const log = this.logFor(event);
    const now = clock.now();
    const failed = await this.writes.run(async (tx) => {
      const execution = await tx.executions.claimForRun(executionId, attempt, this.leaseMs(undefined));
      return execution ? (await tx.executions.endAttempts([this.attemptEnd(execution, 'failed', now, { error: reason })])).length > 0 : false;
    });
    if (failed) {
      metrics?.executionsFinished.inc({ status: 'failed' });
      log.error({ error: reason }, 'gave up on the execution: failed without running it further');
    } else {
      log.warn({ error: reason }, 'gave up on a request whose run is finished, on another attempt or running elsewhere; left it alone');
    }
    return failed;
  }

  private logFor(event: ExecutionRequested): Logger {
    const { executionId, workflowId, attempt } = event.data;
    return lazyChild(this.deps.logger, { executionId, workflowId, attempt });
  }

  /**
   * After a failure, makes the lease end now (a lease of 0 ms): the redelivery of this request
   * then takes the run over at once, instead of skipping it as held by a live lease and leaving
   * it until the lease expires. Nothing of this attempt runs here any more when this is called. (Like every
   * write of the worker, it trusts the lease: a lease has no holder to compare with.)
   */
  private async releaseClaim(executionId: string, attempt: number, log: Logger): Promise<void> {
    try {
      await this.writes.runSingleWrite((r) => r.executions.setLease(executionId, attempt, 0));
    } catch (err) {
      log.warn({ err }, 'could not give the claim back; the run waits for its lease to expire');
    }
  }

  private async run(execution: Execution, log: Logger): Promise<HandleOutcome> {
    const { config } = this.deps;
    const { executionId, attempt } = execution;
    // A retry resumes at the first step that is not settled (succeeded, skipped, or failed
    // with continueOnError). Every step but the last one run is saved as soon as it ends (so a
    // step that succeeded never runs again); the last one is saved with the outcome, in the
    // same unit of work.
    const todo = execution.actions.flatMap((action, index) => (isSettled(execution.steps[index], action) ? [] : [{ action, index }]));
    let failure: Failure | undefined;
    let last: Step | undefined;
    let halted = false;
    let waitUntil: Date | undefined;
    for (const [n, { action, index }] of todo.entries()) {
      const result = halted
        ? this.steps.skipped(execution, index, action)
        : await this.steps.run(execution, index, action, log, (running) => this.saveStep(executionId, attempt, running, this.leaseMs(action)), () => this.watchCancel(execution));
      if (result === 'lost') return this.lost(executionId, log);
      const { permanent, halts, parksUntil, ...step } = result;
      execution.steps[index] = step;
      const stops = (step.status === 'failed' && stepSettings(action).continueOnError !== true) || parksUntil !== undefined;
      if (n === todo.length - 1 || stops) last = step;
      else if (!(await this.saveStep(executionId, attempt, step, config.leaseMarginMs))) return this.lost(executionId, log);
      if (parksUntil) {
        waitUntil = parksUntil;
        break;
      }
      if (stops) {
        const retry = stepSettings(action).retry;
        failure = { error: `step ${index} (${action.type}) failed: ${step.error ?? 'unknown error'}`, permanent, failures: step.failures ?? 1, ...(retry ? { retry } : {}) };
        break;
      }
      if (halts) halted = true;
    }
    return waitUntil ? this.park(execution, last!, waitUntil, log) : this.finish(execution, last, failure, log, config.random);
  }

  /**
   * Parks the run at a delay step: `waiting` until `resumeAt`, the step recorded, the
   * workflow still busy, an `ExecutionWaiting` result event added; the scheduler queues it again on the same attempt when it is due
   * (as it does a due retry), and it resumes at the delay step, which then has elapsed.
   */
  private async park(execution: Execution, step: Step, resumeAt: Date, log: Logger): Promise<HandleOutcome> {
    const { executionId, attempt, retriesLeft } = execution;
    const now = this.deps.clock.now();
    // With its result event, so that whoever watches the run (the dashboard) sees it wait.
    const parked = await this.writes.run(async (tx) => {
      if (!(await tx.executions.finishAttempt(executionId, attempt, { status: 'waiting', at: now, nextAttemptAt: resumeAt, retriesLeft, step }))) return false;
      await tx.outbox.add(resultMessage(execution, 'waiting', now, this.deps.topics, undefined, resumeAt));
      return true;
    });
    if (!parked) return this.lost(executionId, log);
    log.info({ resumeAt }, 'execution waiting at a delay');
    return 'waiting';
  }

  /** Saves `step`, the lease then running `leaseMs` from the store's clock (with the other steps saved in this turn: one write). */
  private saveStep(executionId: string, attempt: number, step: Step, leaseMs: number): Promise<boolean> {
    return this.writes.saveStep(executionId, attempt, step, leaseMs);
  }

  /** The lease that covers running `action` (or the first claim, before any action). */
  private leaseMs(action: Action | undefined): number {
    return (action ? stepTimeoutMs(action) : DEFAULT_ACTION_TIMEOUT_MS) + this.deps.config.leaseMarginMs;
  }

  private async finish(
    execution: Execution,
    lastStep: Step | undefined,
    failure: Failure | undefined,
    log: Logger,
    random?: () => number,
  ): Promise<HandleOutcome> {
    const { clock, metrics } = this.deps;
    const now = clock.now();
    const { attempt } = execution;
    // A step with a retry policy of its own is retried by it (counting that step's failures),
    // without spending the run's retries; any other by the workflow's.
    const own = failure?.retry;
    const retryable = failure !== undefined && !failure.permanent && (own ? failure.failures <= own.maxRetries : execution.retriesLeft > 0);
    const outcome: 'completed' | 'pending_retry' | 'failed' = !failure ? 'completed' : retryable ? 'pending_retry' : 'failed';
    const delay = own && failure ? retryDelayMs(own, failure.failures, random) : retryDelayMs(execution.retryPolicy, attempt, random);
    const nextAttemptAt = outcome === 'pending_retry' ? new Date(now.getTime() + delay) : undefined;

    // With the other runs that finish in this turn (a Kafka batch): one write for all of them.
    const finished = await this.writes.endAttempt(
      this.attemptEnd(execution, outcome, now, {
        ...(lastStep ? { step: lastStep } : {}),
        ...(nextAttemptAt ? { nextAttemptAt } : {}),
        ...(failure ? { error: failure.error } : {}),
        ...(own ? { spendsRetry: false } : {}),
      }),
    );
    if (!finished) return this.lost(execution.executionId, log);
    metrics?.executionsFinished.inc({ status: outcome });
    log.info({ status: outcome, ...(nextAttemptAt ? { nextAttemptAt } : {}), ...(failure ? { error: failure.error } : {}) }, 'execution attempt finished');
    return outcome;
  }

  /**
   * The end of the attempt, for `ExecutionRepo.endAttempts`: the attempt ends (compare-and-set:
   * not when it is no longer running on it), the workflow's trigger status goes to match (only
   * while this run holds it: a workflow deleted and recreated meanwhile is another run's), and
   * the result event goes to the outbox.
   */
  private attemptEnd(
    execution: Execution,
    outcome: 'completed' | 'pending_retry' | 'failed',
    at: Date,
    { spendsRetry = true, ...details }: { step?: Step; nextAttemptAt?: Date; error?: string; spendsRetry?: boolean },
  ): AttemptEnding {
    const { ownerId, workflowId, executionId, attempt } = execution;
    const retriesLeft = outcome === 'pending_retry' && spendsRetry ? execution.retriesLeft - 1 : execution.retriesLeft;
    return {
      executionId,
      attempt,
      update: { status: outcome, at, retriesLeft, ...details },
      ownerId,
      workflowId,
      trigger: outcome === 'pending_retry' ? 'pending' : 'idle',
      message: resultMessage(execution, outcome, at, this.deps.topics, details.error, details.nextAttemptAt),
    };
  }

  /**
   * While a step is in flight, looks every `cancelPollMs` whether the run is still running on
   * its attempt; when it is not (it was cancelled), aborts the step. A cancel needs no message
   * to every runner: the store says it, and the next write of the attempt would fail anyway.
   */
  private watchCancel(execution: Execution): { signal: AbortSignal; stop(): void } {
    const controller = new AbortController();
    const { executionId, attempt } = execution;
    const timer = setInterval(() => {
      this.deps.store.executions.get(executionId).then(
        (now) => {
          if (now && (now.status !== 'running' || now.attempt !== attempt)) controller.abort();
        },
        () => undefined, // the store is away: the step goes on, as it would without the watch
      );
    }, this.deps.config.cancelPollMs ?? DEFAULT_CANCEL_POLL_MS);
    timer.unref();
    return { signal: controller.signal, stop: () => clearInterval(timer) };
  }

  /** The attempt can no longer write: its run was cancelled, or another runner took it over. */
  private async lost(executionId: string, log: Logger): Promise<HandleOutcome> {
    const now = await this.deps.store.executions.get(executionId).catch(() => null);
    if (now?.status === 'cancelled') {
      log.info('execution was cancelled; stopped before its next step');
      return 'cancelled';
    }
    log.warn('execution was taken over by another runner (lease expired); abandoning this attempt');
    return 'lost';
  }
}

/** The attempt's outcome on the result topic; `nextAttemptAt` is set exactly when a retry is scheduled or the run waits. */
function resultMessage(
  execution: Execution,
  status: 'completed' | 'waiting' | 'pending_retry' | 'failed',
  at: Date,
  topics: Topics,
  error?: string,
  nextAttemptAt?: Date,
): OutboxMessage {
  return runResultMessage(execution, status, at, topics, error === undefined ? undefined : boundError(error, MAX_EVENT_ERROR_BYTES), nextAttemptAt);
}
