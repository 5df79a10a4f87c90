import {
  secretsReferenced,
  stepIdempotencyKey,
  stepSettings,
  stepTimeoutMs,
  type Action,
  type Clock,
  type Execution,
  type Logger,
  type Step,
} from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';
import { HttpStatusError, PermanentActionError, type ActionRegistry } from '../actions/index.js';
import { conditionHolds } from '../conditions.js';
import { TemplateError, type TemplateContext } from '../templating.js';
import { lazyChild } from './lazy-logger.js';
import { redact } from './redact.js';
import { concealSecrets, type SecretResolver } from './secrets.js';

/** A step as it ended, with what the worker decides on: whether retrying can help, whether the run stops after it. */
export interface StepResult extends Step {
  permanent: boolean;
  /** A filter whose condition was false: the steps after it are skipped and the run completes. */
  halts?: boolean;
  /** A delay that has not elapsed: the run waits until then (the step stays `pending`). */
  parksUntil?: Date;
}

/** Watches a run while a step is in flight: `signal` aborts when the run is cancelled. */
export interface CancelWatch {
  signal: AbortSignal;
  stop(): void;
}

export interface StepRunnerDeps {
  actions: ActionRegistry;
  /** Opens the secrets a step refers to; without one, a step that refers to any fails. */
  secrets?: SecretResolver;
  clock: Clock;
  metrics?: Metrics;
}

/**
 * Runs one step of a run: its `if` (false: skipped), its action with the step's timeout and
 * idempotency key, and what became of it. The start of a step that is not instant is
 * recorded first through `recordStart` (false: the run was taken away, nothing is run);
 * while it is in flight, `watchCancel` gives the signal that aborts it when the run is cancelled.
 */
export class StepRunner {
  constructor(private readonly deps: StepRunnerDeps) {}

  async run(
    execution: Execution,
    index: number,
    action: Action,
    log: Logger,
    recordStart: (running: Step) => Promise<boolean>,
    watchCancel?: () => CancelWatch,
  ): Promise<StepResult | 'lost'> {
    const { clock, actions, metrics } = this.deps;
    const executor = actions[action.type] as { instant?: boolean; run(a: Action, c: unknown): Promise<unknown> };
    const template = templateContext(execution);
    const stepLog = lazyChild(log, { step: index, action: action.type });
    const previous = execution.steps[index];
    const startedAt = clock.now();
    const running: Step = {
      index,
      type: action.type,
      status: 'running',
      attempt: execution.attempt,
      ...(previous?.failures ? { failures: previous.failures } : {}),
      startedAt,
    };

    const condition = stepSettings(action).if;
    if (condition !== undefined) {
      try {
        if (!conditionHolds(condition, template)) {
          stepLog.info('condition false: step skipped');
          return { ...running, status: 'skipped', finishedAt: clock.now(), permanent: false };
        }
      } catch (err) {
        return this.failed(running, err, stepLog);
      }
    }
    // Secrets are opened now, for this step only, and concealed in all it leaves behind.
    let secrets: Record<string, string>;
    try {
      secrets = await this.openSecrets(execution.ownerId, action);
    } catch (err) {
      if (err instanceof PermanentActionError) return this.failed(running, err, stepLog);
      throw err; // the store: the request is redelivered
    }
    const conceal = <T>(v: T): T => concealSecrets(v, secrets);
    if (!executor.instant && !(await recordStart(running))) return 'lost';

    const started = performance.now();
    let step: StepResult;
    // A delay resumed after its wait keeps the time it worked out when it was first reached.
    const parked = action.type === 'delay' && previous?.status === 'pending' ? (previous.output as { resumeAt?: string } | undefined)?.resumeAt : undefined;
    const cancelled = executor.instant ? undefined : watchCancel?.();
    try {
      const output = parked ? { resumeAt: parked } : await executor.run(action, {
        template: { ...template, secrets },
        logger: stepLog,
        idempotencyKey: stepIdempotencyKey(execution.executionId, index),
        timeoutMs: stepTimeoutMs(action),
        now: startedAt,
        conceal,
        ...(cancelled ? { signal: cancelled.signal } : {}),
      });
      if (action.type === 'delay') return this.delayed(running, output as { resumeAt: string }, stepLog);
      const halts = action.type === 'filter' && (output as { passed: boolean }).passed === false;
      if (halts) stepLog.info('filter condition false: the remaining steps are skipped');
      step = { ...running, status: 'succeeded', output: conceal(redact(output)), finishedAt: clock.now(), permanent: false, ...(halts ? { halts } : {}) };
    } catch (err) {
      step = this.failed(running, err, stepLog, conceal);
    } finally {
      cancelled?.stop();
    }
    metrics?.actionDuration.observe({ type: action.type, outcome: step.status }, (performance.now() - started) / 1000);
    return step;
  }

  /** A delay step: `pending` and parking the run while its time is ahead, `succeeded` once it has come. */
  private delayed(running: Step, output: { resumeAt: string }, stepLog: Logger): StepResult {
    const resumeAt = new Date(output.resumeAt);
    const now = this.deps.clock.now();
    if (resumeAt.getTime() <= now.getTime()) return { ...running, status: 'succeeded', output, finishedAt: now, permanent: false };
    stepLog.info({ resumeAt }, 'delay: the run waits');
    return { ...running, status: 'pending', output, permanent: false, parksUntil: resumeAt };
  }

  /** A step not run because a filter before it stopped the run. */
  skipped(execution: Execution, index: number, action: Action): StepResult {
    const at = this.deps.clock.now();
    return { index, type: action.type, status: 'skipped', attempt: execution.attempt, finishedAt: at, permanent: false };
  }

  private async openSecrets(ownerId: string, action: Action): Promise<Record<string, string>> {
    const names = secretsReferenced(action);
    if (names.length === 0) return {};
    if (!this.deps.secrets) throw new PermanentActionError('this runner has no SECRETS_KEY: it cannot open secrets');
    return this.deps.secrets.resolve(ownerId, names);
  }

  private failed(running: Step, err: unknown, stepLog: Logger, conceal: <T>(v: T) => T = (v) => v): StepResult {
    const error = conceal(err instanceof Error ? err.message : String(err));
    const permanent = err instanceof PermanentActionError || err instanceof TemplateError;
    stepLog.warn({ error, permanent }, 'step failed');
    return {
      ...running,
      status: 'failed',
      error,
      failures: (running.failures ?? 0) + 1,
      ...(err instanceof HttpStatusError ? { output: conceal(err.output) } : {}),
      finishedAt: this.deps.clock.now(),
      permanent,
    };
  }
}

/** Whether a step needs no more running: it succeeded, was skipped, or failed with `continueOnError`. */
export function isSettled(step: Step | undefined, action: Action): boolean {
  if (!step) return false;
  return step.status === 'succeeded' || step.status === 'skipped' || (step.status === 'failed' && stepSettings(action).continueOnError === true);
}

export function templateContext(e: Execution): TemplateContext {
  return {
    trigger: { type: e.trigger.type, payload: e.trigger.payload ?? {} },
    steps: e.steps.map((s) => ({ status: s.status, output: s.output })),
    execution: { id: e.executionId, attempt: e.attempt },
    workflow: { id: e.workflowId },
  };
}
