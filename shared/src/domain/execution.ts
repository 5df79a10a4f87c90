import { z } from 'zod';
import type { Action, RetryPolicy } from './workflow.js';

export const ExecutionStatusSchema = z.enum(['queued', 'running', 'pending_retry', 'completed', 'failed']);
export type ExecutionStatus = z.infer<typeof ExecutionStatusSchema>;
export const FINISHED_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed'];

export const StepStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed']);
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
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
}
