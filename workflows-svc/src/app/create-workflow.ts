import type { Clock, Store, Workflow } from '@wf/shared';
import { definitionFrom, type CreateWorkflowInput, type WorkflowResult } from './workflow-definition.js';
import { buildTrigger } from './workflow-trigger.js';

export class CreateWorkflow {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Throws `ConflictError` (409) when the owner already has this workflowId. */
  async execute(ownerId: string, input: CreateWorkflowInput): Promise<WorkflowResult> {
    const now = this.clock.now();
    const { trigger: spec, ...rest } = definitionFrom(input.workflowId, input);
    const { trigger, hookSecret } = buildTrigger(spec, undefined, now);
    const workflow: Workflow = {
      workflowId: input.workflowId,
      ownerId,
      ...rest,
      trigger,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    await this.store.workflows.create(workflow);
    return hookSecret === undefined ? { workflow } : { workflow, hookSecret };
  }
}
