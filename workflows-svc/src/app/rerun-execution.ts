import {
  acceptRun,
  ConflictError,
  executionRequestedMessage,
  NotFoundError,
  RESUMABLE_STATUSES,
  WorkflowBusyError,
  type Clock,
  type Execution,
  type Repos,
  type Topics,
  type UnitOfWork,
  type Workflow,
} from '@wf/shared';

/** Where a re-run starts: at the step that did not succeed (same execution, next attempt), or from the start (a new execution). */
export type RerunFrom = 'failed-step' | 'start';

const notResumable = (e: Execution) =>
  new ConflictError(`execution "${e.executionId}" is ${e.status}: only a failed or cancelled run resumes`, { status: e.status }, 'execution_not_resumable');

/**
 * `POST /executions/:id/retry`. From the failed step: a failed or cancelled run is queued
 * again on its next attempt with a fresh retry budget; the steps that succeeded keep their
 * outputs and do not run again (the runner starts at the first step that has not
 * succeeded), and the actions are the run's own snapshot. From the start: a new execution
 * of the workflow as it is now, with the same trigger payload, linked by `rerunOf`. Either
 * way the workflow must be idle (the busy guard of every trigger) and enabled.
 */
export class RerunExecution {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly topics: Topics,
  ) {}

  async execute(ownerId: string, executionId: string, from: RerunFrom): Promise<Execution> {
    return this.uow.run(async (tx) => {
      const current = await tx.executions.get(executionId);
      if (!current || current.ownerId !== ownerId) throw new NotFoundError(`execution "${executionId}" not found`);
      const workflow = await this.workflowOf(tx, current);
      const now = this.clock.now();
      if (from === 'start') {
        const { type, payload } = current.trigger;
        const trigger = { type, firedAt: now, ...(payload === undefined ? {} : { payload }) };
        return acceptRun(tx, workflow, trigger, this.topics, now, undefined, { rerunOf: current.executionId });
      }
      if (!RESUMABLE_STATUSES.includes(current.status)) throw notResumable(current);
      if (!(await tx.workflows.setTriggerStatus(ownerId, workflow.workflowId, executionId, ['idle'], 'busy', now))) {
        throw new WorkflowBusyError(workflow.workflowId, workflow.trigger.status);
      }
      const resumed = await tx.executions.resume(executionId, current.attempt, now, current.retryPolicy.maxRetries);
      if (!resumed) throw notResumable(current); // re-run by a concurrent request
      await tx.outbox.add(executionRequestedMessage(resumed, this.topics, now));
      return resumed;
    });
  }

  private async workflowOf(tx: Repos, e: Execution): Promise<Workflow> {
    const workflow = await tx.workflows.get(e.ownerId, e.workflowId);
    if (!workflow) throw new ConflictError(`workflow "${e.workflowId}" of this run was deleted`, undefined, 'workflow_deleted');
    if (!workflow.enabled) throw new ConflictError(`workflow "${e.workflowId}" is disabled`, undefined, 'workflow_disabled');
    return workflow;
  }
}
