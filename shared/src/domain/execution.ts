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
  error?: string;
  idempotencyKey?: string;
  /** For a re-run from the start: the execution it re-runs. */
  rerunOf?: string;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
}
