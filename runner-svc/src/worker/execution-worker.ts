import {
  boundError,
  DEFAULT_ACTION_TIMEOUT_MS,
  MAX_EVENT_ERROR_BYTES,
  retryDelayMs,
  runResultMessage,
  type Action,
  type Clock,
  type Execution,
  type ExecutionRequested,
  type GroupCommit,
  type Logger,
  type OutboxMessage,
  type Repos,
  type Step,
  type Store,
  type Topics,
} from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';
import { PermanentActionError, HttpStatusError, type ActionRegistry } from '../actions/index.js';
import { TemplateError, type TemplateContext } from '../templating.js';
import { redact } from './redact.js';

export type HandleOutcome = 'completed' | 'pending_retry' | 'failed' | 'skipped' | 'lost' | 'cancelled';

/** How often a step in flight looks whether its run was cancelled, unless configured. */
export const DEFAULT_CANCEL_POLL_MS = 1_000;

export interface ExecutionWorkerDeps {
  store: Store;
  /** The store's group commit: the writes of the executions this worker runs concurrently share transactions under load. */
  groupCommit: GroupCommit;
  actions: ActionRegistry;
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
 * one unit of work. Safe to call twice for the same event: a claim that fails means
 * someone else has it or it is done. When handling throws (the store refused a write), the
 * claim is given back so that the redelivery can resume the run; `giveUp` ends a run whose
 * request keeps failing.
 */
export class ExecutionWorker {
  private readonly writes: GroupCommit;

  constructor(private readonly deps: ExecutionWorkerDeps) {
    this.writes = deps.groupCommit;
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
      return execution ? this.endAttempt(tx, execution, 'failed', now, { error: reason }) : false;
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
    return this.deps.logger.child({ executionId, workflowId, attempt });
  }

  /**
   * After a failure, makes the lease end now (a lease of 0 ms): the redelivery of this request
   * then takes the run over at once, instead of skipping it as held by a live lease and leaving
   * it until the lease expires. Nothing of this attempt runs here any more when this is called. (Like every
   * write of the worker, it trusts the lease: a lease has no holder to compare with.)
   */
  private async releaseClaim(executionId: string, attempt: number, log: Logger): Promise<void> {
    try {
      await this.writes.runSingleWrite((r) => r.executions.renewLease(executionId, attempt, 0));
    } catch (err) {
      log.warn({ err }, 'could not give the claim back; the run waits for its lease to expire');
    }
  }

  private async run(execution: Execution, log: Logger): Promise<HandleOutcome> {
    const { config } = this.deps;
    const { executionId, attempt } = execution;
    // A retry resumes at the first step that has not succeeded. Every step but the last one
    // run is saved as soon as it ends (so a step that succeeded never runs again); the last
    // one is saved with the outcome, in the same unit of work.
    const todo = execution.actions.flatMap((action, index) => (execution.steps[index]?.status === 'succeeded' ? [] : [{ action, index }]));
    let failure: { error: string; permanent: boolean } | undefined;
    let last: Step | undefined;
    for (const [n, { action, index }] of todo.entries()) {
      const result = await this.runStep(execution, index, action, log);
      if (result === 'lost') return this.lost(executionId, log);
      const { permanent, ...step } = result;
      execution.steps[index] = step;
      if (n === todo.length - 1 || step.status === 'failed') last = step;
      else if (!(await this.saveStep(executionId, attempt, step, config.leaseMarginMs))) return this.lost(executionId, log);
      if (step.status === 'failed') {
        failure = { error: `step ${index} (${action.type}) failed: ${step.error ?? 'unknown error'}`, permanent };
        break;
      }
    }
    return this.finish(execution, last, failure, log, config.random);
  }

  /** Saves `step`, the lease then running `leaseMs` from the store's clock. */
  private saveStep(executionId: string, attempt: number, step: Step, leaseMs: number): Promise<boolean> {
    return this.writes.runSingleWrite((r) => r.executions.saveStep(executionId, attempt, step, leaseMs));
  }

  /** The lease that covers running `action` (or the first claim, before any action). */
  private leaseMs(action: Action | undefined): number {
    const timeout = action?.type === 'http-request' ? (action.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS) : DEFAULT_ACTION_TIMEOUT_MS;
    return timeout + this.deps.config.leaseMarginMs;
  }

  /** Runs one step; only a step that is not instant is recorded as running first (extending the lease to its timeout). */
  private async runStep(execution: Execution, index: number, action: Action, log: Logger): Promise<(Step & { permanent: boolean }) | 'lost'> {
    const { clock, actions, metrics } = this.deps;
    const executor = actions[action.type] as { instant?: boolean; run(a: Action, c: unknown): Promise<unknown> };
    const startedAt = clock.now();
    const running: Step = { index, type: action.type, status: 'running', attempt: execution.attempt, startedAt };
    if (!executor.instant && !(await this.saveStep(execution.executionId, execution.attempt, running, this.leaseMs(action)))) {
      return 'lost';
    }

    const stepLog = log.child({ step: index, action: action.type });
    const started = performance.now();
    let step: Step & { permanent: boolean };
    const cancelled = executor.instant ? undefined : this.watchCancel(execution);
    try {
      const output = await executor.run(action, { template: templateContext(execution), logger: stepLog, ...(cancelled ? { signal: cancelled.signal } : {}) });
      step = { ...running, status: 'succeeded', output: redact(output), finishedAt: clock.now(), permanent: false };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      const permanent = err instanceof PermanentActionError || err instanceof TemplateError;
      step = {
        ...running,
        status: 'failed',
        error,
        ...(err instanceof HttpStatusError ? { output: err.output } : {}),
        finishedAt: clock.now(),
        permanent,
      };
      stepLog.warn({ error, permanent }, 'step failed');
    } finally {
      cancelled?.stop();
    }
    metrics?.actionDuration.observe({ type: action.type, outcome: step.status }, (performance.now() - started) / 1000);
    return step;
  }

  private async finish(
    execution: Execution,
    lastStep: Step | undefined,
    failure: { error: string; permanent: boolean } | undefined,
    log: Logger,
    random?: () => number,
  ): Promise<HandleOutcome> {
    const { clock, metrics } = this.deps;
    const now = clock.now();
    const { attempt } = execution;
    const outcome: 'completed' | 'pending_retry' | 'failed' = !failure
      ? 'completed'
      : !failure.permanent && execution.retriesLeft > 0
        ? 'pending_retry'
        : 'failed';
    const nextAttemptAt =
      outcome === 'pending_retry' ? new Date(now.getTime() + retryDelayMs(execution.retryPolicy, attempt, random)) : undefined;

    const finished = await this.writes.run((tx) =>
      this.endAttempt(tx, execution, outcome, now, {
        ...(lastStep ? { step: lastStep } : {}),
        ...(nextAttemptAt ? { nextAttemptAt } : {}),
        ...(failure ? { error: failure.error } : {}),
      }),
    );
    if (!finished) return this.lost(execution.executionId, log);
    metrics?.executionsFinished.inc({ status: outcome });
    log.info({ status: outcome, ...(nextAttemptAt ? { nextAttemptAt } : {}), ...(failure ? { error: failure.error } : {}) }, 'execution attempt finished');
    return outcome;
  }

  /**
   * Inside a unit of work: ends the attempt (compare-and-set: false when it is no longer
   * running on it), sets the workflow's trigger status to match and adds the result event.
   */
  private async endAttempt(
    tx: Repos,
    execution: Execution,
    outcome: 'completed' | 'pending_retry' | 'failed',
    at: Date,
    details: { step?: Step; nextAttemptAt?: Date; error?: string },
  ): Promise<boolean> {
    const { ownerId, workflowId, executionId, attempt } = execution;
    const retriesLeft = outcome === 'pending_retry' ? execution.retriesLeft - 1 : execution.retriesLeft;
    if (!(await tx.executions.finishAttempt(executionId, attempt, { status: outcome, at, retriesLeft, ...details }))) return false;
    // Only while this run holds the trigger: a workflow deleted and recreated meanwhile is another run's.
    await tx.workflows.setTriggerStatus(ownerId, workflowId, executionId, ['busy', 'pending'], outcome === 'pending_retry' ? 'pending' : 'idle', at);
    await tx.outbox.add(resultMessage(execution, outcome, at, this.deps.topics, details.error, details.nextAttemptAt));
    return true;
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

function templateContext(execution: Execution): TemplateContext {
  return {
    trigger: { type: execution.trigger.type, payload: execution.trigger.payload ?? {} },
    steps: execution.steps.map((s) => ({ status: s.status, output: s.output })),
    execution: { id: execution.executionId, attempt: execution.attempt },
    workflow: { id: execution.workflowId },
  };
}

/** The attempt's outcome on the result topic; `nextAttemptAt` is set exactly when a retry is scheduled. */
function resultMessage(
  execution: Execution,
  status: 'completed' | 'pending_retry' | 'failed',
  at: Date,
  topics: Topics,
  error?: string,
  nextAttemptAt?: Date,
): OutboxMessage {
  return runResultMessage(execution, status, at, topics, error === undefined ? undefined : boundError(error, MAX_EVENT_ERROR_BYTES), nextAttemptAt);
}
