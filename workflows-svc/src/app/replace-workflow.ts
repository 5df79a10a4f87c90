import { ValidationError, type Clock, type Store } from '@wf/shared';
import { definitionFrom, type ReplaceWorkflowInput, type WorkflowResult } from './workflow-definition.js';
import { updateWorkflow, type UpdateTarget } from './update-workflow.js';

/** PUT: the body is the whole new definition; omitted optional fields take their defaults. */
export class ReplaceWorkflow {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async execute(target: UpdateTarget, input: ReplaceWorkflowInput): Promise<WorkflowResult> {
    if (input.workflowId !== undefined && input.workflowId !== target.workflowId) {
      throw new ValidationError('invalid request: workflowId', [
        { path: 'workflowId', message: 'must equal the workflowId in the path (a workflow cannot be renamed)' },
      ]);
    }
    return updateWorkflow(this.store, this.clock, target, () => definitionFrom(target.workflowId, input));
  }
}
