import type { Store, Workflow } from '@wf/shared';
import { workflowNotFound } from './workflow-definition.js';

export class GetWorkflow {
  constructor(private readonly store: Store) {}

  /** Another owner's workflow is simply not found: its existence is not revealed. */
  async execute(ownerId: string, workflowId: string): Promise<Workflow> {
    const workflow = await this.store.workflows.get(ownerId, workflowId);
    if (!workflow) throw workflowNotFound(workflowId);
    return workflow;
  }
}
