import { ConflictError } from '../errors.js';
import { makeEvent, partitionKey, type Topics } from '../domain/events.js';
import type { Execution, ExecutionTrigger } from '../domain/execution.js';
import type { OutboxMessage } from '../domain/outbox.js';
import type { Workflow } from '../domain/workflow.js';
import { newId } from '../ids.js';
import type { Repos } from '../ports/repos.js';

/** The outbox message that asks a runner to run `execution` on its current attempt. */
export function executionRequestedMessage(execution: Execution, topics: Topics, at: Date): OutboxMessage {
  return {
    id: newId(),
    topic: topics.requested,
    key: partitionKey(execution.ownerId, execution.workflowId),
    event: makeEvent(
      'ExecutionRequested',
      { executionId: execution.executionId, workflowId: execution.workflowId, ownerId: execution.ownerId, attempt: execution.attempt },
      newId(),
      at,
    ),
    createdAt: at,
    attempts: 0,
  };
}

/** What a new run may carry besides its trigger: the run it re-runs from the start. */
export interface RunLinks {
  rerunOf?: string;
}

/** A run requested with an `Idempotency-Key`: the key, and the executionId already recorded for it. */
export interface IdempotentRun {
  key: string;
  executionId: string;
}

export function newExecution(workflow: Workflow, trigger: ExecutionTrigger, at: Date, idempotent?: IdempotentRun, links: RunLinks = {}): Execution {
  return {
    executionId: idempotent?.executionId ?? newId(),
    workflowId: workflow.workflowId,
    ownerId: workflow.ownerId,
    workflowVersion: workflow.version,
    actions: workflow.actions,
    retryPolicy: workflow.retryPolicy,
    trigger,
    status: 'queued',
    attempt: 1,
    retriesLeft: workflow.retryPolicy.maxRetries,
    steps: workflow.actions.map((a, index) => ({ index, type: a.type, status: 'pending' })),
    ...(idempotent ? { idempotencyKey: idempotent.key } : {}),
    ...(links.rerunOf ? { rerunOf: links.rerunOf } : {}),
    createdAt: at,
    updatedAt: at,
  };
}

/** The workflow is busy with another run; the caller gets 409 with the current status. */
export class WorkflowBusyError extends ConflictError {
  constructor(workflowId: string, readonly triggerStatus: string) {
    super(`workflow "${workflowId}" is ${triggerStatus}: a run is already in progress`, { triggerStatus }, 'workflow_busy');
  }
}

/**
 * Accepts a run of `workflow` (in the caller's unit of work, or alone: `WorkflowRepo.acceptRun`
 * is atomic by itself): flips `trigger.status` from idle to busy, held by the new execution
 * (compare-and-set, so two callers cannot both win), inserts the queued execution and its
 * `ExecutionRequested` outbox message. Throws `WorkflowBusyError` and writes nothing when
 * the workflow is not idle.
 */
export async function acceptRun(
  tx: Repos,
  workflow: Workflow,
  trigger: ExecutionTrigger,
  topics: Topics,
  at: Date,
  idempotent?: IdempotentRun,
  links: RunLinks = {},
): Promise<Execution> {
  const execution = newExecution(workflow, trigger, at, idempotent, links);
  if (!(await tx.workflows.acceptRun(execution, executionRequestedMessage(execution, topics, at)))) {
    const current = await tx.workflows.get(workflow.ownerId, workflow.workflowId);
    throw new WorkflowBusyError(workflow.workflowId, current?.trigger.status ?? 'gone');
  }
  return execution;
}
