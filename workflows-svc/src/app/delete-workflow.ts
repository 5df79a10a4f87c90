import type { Store } from '@wf/shared';
import { assertVersion, workflowNotFound } from './workflow-definition.js';
import type { UpdateTarget } from './update-workflow.js';

/**
 * Deletes the definition. Its executions stay as history (reachable by executionId); a run
 * in flight finishes, and its status update then finds no workflow, or one recreated under
 * the same id and held by another run: either way it changes nothing.
 */
export class DeleteWorkflow {
  constructor(private readonly store: Store) {}

  async execute(target: UpdateTarget): Promise<void> {
    await this.store.uow.run(async (tx) => {
      const current = await tx.workflows.get(target.ownerId, target.workflowId);
      if (!current) throw workflowNotFound(target.workflowId);
      assertVersion(current, target.expectedVersion);
      if (!(await tx.workflows.delete(target.ownerId, target.workflowId))) throw workflowNotFound(target.workflowId);
    });
  }
}
