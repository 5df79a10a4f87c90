import { makeEvent, partitionKey, type EventEnvelope, type ExecutionCompleted, type Topics } from '../domain/events.js';
import type { Execution } from '../domain/execution.js';
import type { OutboxMessage } from '../domain/outbox.js';
import { newId } from '../ids.js';

/** How an attempt ended (or paused: `waiting` at a delay), as its result event says. */
export type AttemptOutcome = 'completed' | 'waiting' | 'pending_retry' | 'failed' | 'cancelled';

/**
 * The outbox message that tells everyone watching how an attempt of `execution` ended
 * (`execution.result`); `nextAttemptAt` is set exactly when a retry is scheduled or the run
 * waits at a delay (then it is when the run resumes).
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
  return { id: newId(), topic: topics.result, key: partitionKey(execution.ownerId, execution.workflowId), event: resultEvent(data, at, nextAttemptAt), createdAt: at, attempts: 0 };
}

/** The event for `data.status` (every result event carries the data of `ExecutionCompleted`, some a time more). */
function resultEvent(data: ExecutionCompleted['data'], at: Date, nextAttemptAt: Date | undefined): EventEnvelope {
  const id = newId();
  switch (data.status) {
    case 'completed':
      return makeEvent('ExecutionCompleted', data, id, at);
    case 'cancelled':
      return makeEvent('ExecutionCancelled', data, id, at);
    case 'waiting':
      if (!nextAttemptAt) throw new Error('a waiting run resumes at a time: nextAttemptAt is required');
      return makeEvent('ExecutionWaiting', { ...data, resumeAt: nextAttemptAt.toISOString() }, id, at);
    default:
      return nextAttemptAt ? makeEvent('ExecutionRetryScheduled', { ...data, nextAttemptAt: nextAttemptAt.toISOString() }, id, at) : makeEvent('ExecutionFailed', data, id, at);
  }
}
