import type { Execution, Page, PageRequest, Store } from '@wf/shared';
import { workflowNotFound } from './workflow-definition.js';

export class ListExecutions {
  constructor(private readonly store: Store) {}

  /** Newest first. A workflow the caller does not own is not found, even if it has runs. */
  async execute(ownerId: string, workflowId: string, page: PageRequest): Promise<Page<Execution>> {
    const workflow = await this.store.workflows.get(ownerId, workflowId);
    if (!workflow) throw workflowNotFound(workflowId);
    return this.store.executions.listByWorkflow(ownerId, workflowId, page);
  }
}
