import type { AttemptEnding, ExecutionRepo, Repos, RunAcceptance, StepSave, WorkflowRepo } from '../ports/repos.js';
import { firstOfEach } from './first-of-each.js';

/**
 * `ExecutionRepo.endAttempts` for a store without a one-statement form, to be run inside a
 * unit of work (so all of it lands or none does): each end in order, its trigger moved and
 * its result message added only when the attempt ended; of an execution listed twice, the
 * first entry only.
 */
export async function endAttemptsInOrder(tx: Pick<Repos, 'executions' | 'workflows' | 'outbox'>, ends: readonly AttemptEnding[]): Promise<string[]> {
  const ended: string[] = [];
  for (const { executionId, attempt, update, ownerId, workflowId, trigger, message } of firstOfEach(ends)) {
    if (!(await tx.executions.finishAttempt(executionId, attempt, update))) continue;
    await tx.workflows.setTriggerStatus(ownerId, workflowId, executionId, ['busy', 'pending'], trigger, update.at);
    await tx.outbox.add(message);
    ended.push(executionId);
  }
  return ended;
}


/**
 * `ExecutionRepo.saveSteps` for a store without a one-statement form: each save in order as
 * `saveStep` alone (each its own atomic write, so linear in the batch); of an execution listed
 * twice, the first entry only.
 */
export async function saveStepsInOrder(executions: Pick<ExecutionRepo, 'saveStep'>, saves: readonly StepSave[], leaseMs: number): Promise<string[]> {
  const saved: string[] = [];
  for (const { executionId, attempt, step } of firstOfEach(saves)) {
    if (await executions.saveStep(executionId, attempt, step, leaseMs)) saved.push(executionId);
  }
  return saved;
}

/**
 * `WorkflowRepo.acceptRuns` for a store without a one-statement form, to be run inside a unit
 * of work (so that a refused write undoes the whole call): each `acceptRun` in order.
 */
export async function acceptRunsInOrder(workflows: Pick<WorkflowRepo, 'acceptRun'>, accepts: readonly RunAcceptance[]): Promise<string[]> {
  const accepted: string[] = [];
  for (const { execution, request, asRead } of accepts) {
    if (await workflows.acceptRun(execution, request, asRead)) accepted.push(execution.executionId);
  }
  return accepted;
}
