import { z } from 'zod';
import type { Action, RetryPolicy } from './workflow.js';

/** `waiting`: parked at a `delay` step until `nextAttemptAt`, holding no runner; the scheduler resumes it then. */
export const ExecutionStatusSchema = z.enum(['queued', 'running', 'waiting', 'pending_retry', 'completed', 'failed', 'cancelled']);
export type ExecutionStatus = z.infer<typeof ExecutionStatusSchema>;
/** A run in one of these has ended: nothing moves it any more but a re-run (`failed`, `cancelled`). */
export const FINISHED_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed', 'cancelled'];
/** What `POST /executions/:id/retry` resumes in place. */
export const RESUMABLE_STATUSES: readonly ExecutionStatus[] = ['failed', 'cancelled'];
/** The error a step in flight when its run was cancelled ends with. */
export const CANCELLED_STEP_ERROR = 'cancelled while running';

export const StepStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']);
export type StepStatus = z.infer<typeof StepStatusSchema>;

export interface ExecutionTrigger {
  type: 'manual' | 'periodic' | 'cron' | 'webhook';
  /** When the run was accepted. */
  firedAt: Date;
  /** For scheduled runs: the due time the run was emitted for. */
  scheduledFor?: Date;
  payload?: unknown;
}

export interface Step {
  index: number;
  type: Action['type'];
  status: StepStatus;
  /** The attempt on which the step last ran. */
  attempt?: number;
  /** How many times this step has failed, over every attempt (a step's own retry policy counts these). */
  failures?: number;
  output?: unknown;
  error?: string;
  startedAt?: Date;
  finishedAt?: Date;
}

/**
 * How an earlier attempt of a run ended: the run's status then (`pending_retry`: its retry
 * policy queued the next attempt; `failed`, `cancelled`: its owner re-ran it from the failed
 * step), or `lease_expired` when its runner was lost mid-attempt and the run was queued again.
 */
export const AttemptEndSchema = z.enum(['pending_retry', 'failed', 'cancelled', 'lease_expired']);
export type AttemptEnd = z.infer<typeof AttemptEndSchema>;

/**
 * How many earlier attempts a run keeps (`Execution.attempts`): the newest ones. A run retried
 * more often than this loses its oldest records, so that its document stays bounded (each
 * record holds its steps' outputs, each within the store's step output bound).
 */
export const MAX_ATTEMPT_RECORDS = 10;

/** An attempt of a run that ended and was followed by another: kept for the run's timeline. */
export interface AttemptRecord {
  attempt: number;
  endedAs: AttemptEnd;
  /** When its first step started; absent when none ran. */
  startedAt?: Date;
  /** The run's last write on that attempt: its end, or for a lost runner its last sign of life. */
  finishedAt: Date;
  error?: string;
  /** The steps that ran on this attempt (`Step.attempt`), as they ended. */
  steps: Step[];
}

/**
 * The record of `execution`'s current attempt ending as `endedAs`, appended to its earlier
 * ones, the newest `MAX_ATTEMPT_RECORDS` kept. Written by the stores only on the transitions
 * that start another attempt (a due retry, a re-run in place, a lease expiry), never on a
 * step write. The durable stores compute the same in their own query language.
 */
export function withEndedAttempt(execution: Execution, endedAs: AttemptEnd): AttemptRecord[] {
  const ran = execution.steps.filter((step) => step.attempt === execution.attempt);
  const starts = ran.flatMap((step) => (step.startedAt ? [step.startedAt.getTime()] : []));
  const record: AttemptRecord = {
    attempt: execution.attempt,
    endedAs,
    ...(starts.length > 0 ? { startedAt: new Date(Math.min(...starts)) } : {}),
    finishedAt: execution.updatedAt,
    ...(execution.error !== undefined ? { error: execution.error } : {}),
    steps: ran,
  };
  return [...(execution.attempts ?? []), record].slice(-MAX_ATTEMPT_RECORDS);
}

export interface Execution {
  executionId: string;
  workflowId: string;
  ownerId: string;
  /** The workflow's version when the run was accepted; `actions` and `retryPolicy` are a snapshot of it. */
  workflowVersion: number;
  actions: Action[];
  retryPolicy: RetryPolicy;
  trigger: ExecutionTrigger;
  status: ExecutionStatus;
  /** 1 on the first run, incremented by every retry. */
  attempt: number;
  retriesLeft: number;
  nextAttemptAt?: Date;
  /** While `running`: until when the runner holding it is presumed alive. */
  leaseUntil?: Date;
  steps: Step[];
  /** The run's earlier attempts, oldest first, at most `MAX_ATTEMPT_RECORDS`; absent before a second attempt. The current one is in `steps`. */
  attempts?: AttemptRecord[];
  error?: string;
  idempotencyKey?: string;
  /** For a re-run from the start: the execution it re-runs. */
  rerunOf?: string;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
}
