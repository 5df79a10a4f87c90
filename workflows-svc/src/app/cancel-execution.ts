import { ConflictError, FINISHED_STATUSES, NotFoundError, runResultMessage, type Clock, type Execution, type Topics, type UnitOfWork } from '@wf/shared';

/** The run has ended (completed or failed) before the cancel: nothing to stop. */
export const executionFinished = (e: Execution) =>
  new ConflictError(`execution "${e.executionId}" has already finished (${e.status})`, { status: e.status }, 'execution_finished');

/**
 * Cancels a run that has not finished, in one unit of work: the run ends `cancelled` (a
 * compare-and-set against its own finish, so exactly one of the two wins), its workflow is
 * free again, and the result event tells the watchers. A runner with a step in flight sees
 * it in the store, aborts the step, and starts no other. Cancelling a cancelled run answers
 * it again; a run that completed or failed is a conflict.
 */
export class CancelExecution {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly topics: Topics,
  ) {}

  async execute(ownerId: string, executionId: string): Promise<Execution> {
    return this.uow.run(async (tx) => {
      const current = await tx.executions.get(executionId);
      if (!current || current.ownerId !== ownerId) throw new NotFoundError(`execution "${executionId}" not found`);
      if (current.status === 'cancelled') return current;
      if (FINISHED_STATUSES.includes(current.status)) throw executionFinished(current);
      const now = this.clock.now();
      const cancelled = await tx.executions.cancel(executionId, now);
      if (!cancelled) {
        // It finished between the read and the write: its own finish won.
        const after = await tx.executions.get(executionId);
        if (after?.status === 'cancelled') return after;
        throw executionFinished(after ?? current);
      }
      // A run that has not finished is the one holding its workflow (busy, or pending a retry).
      await tx.workflows.setTriggerStatus(ownerId, cancelled.workflowId, executionId, ['busy', 'pending'], 'idle', now);
      await tx.outbox.add(runResultMessage(cancelled, 'cancelled', now, this.topics));
      return cancelled;
    });
  }
}
