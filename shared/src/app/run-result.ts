import { makeEvent, partitionKey, type Topics } from '../domain/events.js';
import type { Execution } from '../domain/execution.js';
import type { OutboxMessage } from '../domain/outbox.js';
import { newId } from '../ids.js';

/** How an attempt ended, as its result event says. */
export type AttemptOutcome = 'completed' | 'pending_retry' | 'failed' | 'cancelled';

/**
 * The outbox message that tells everyone watching how an attempt of `execution` ended
 * (`execution.result`); `nextAttemptAt` is set exactly when a retry is scheduled.
 */
export function runResultMessage(execution: Execution, status: AttemptOutcome, at: Date, topics: Topics, error?: string, nextAttemptAt?: Date): OutboxMessage {
  const data = {
    executionId: execution.executionId,
    workflowId: execution.workflowId,
    ownerId: execution.ownerId,
    attempt: execution.attempt,
    status,
    finishedAt: at.toISOString(),
    ...(error ? { error } : {}),
  };
  const event =
    status === 'completed'
      ? makeEvent('ExecutionCompleted', data, newId(), at)
      : status === 'cancelled'
        ? makeEvent('ExecutionCancelled', data, newId(), at)
        : nextAttemptAt
          ? makeEvent('ExecutionRetryScheduled', { ...data, nextAttemptAt: nextAttemptAt.toISOString() }, newId(), at)
          : makeEvent('ExecutionFailed', data, newId(), at);
  return { id: newId(), topic: topics.result, key: partitionKey(execution.ownerId, execution.workflowId), event, createdAt: at, attempts: 0 };
}
