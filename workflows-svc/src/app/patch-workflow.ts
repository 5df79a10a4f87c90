import type { Clock, Store } from '@wf/shared';
import { triggerSpecOf } from './workflow-trigger.js';
import type { PatchWorkflowInput, WorkflowResult } from './workflow-definition.js';
import { updateWorkflow, type UpdateTarget } from './update-workflow.js';

/** PATCH: top-level fields present in the body replace the stored ones; the rest stay. */
export class PatchWorkflow {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async execute(target: UpdateTarget, patch: PatchWorkflowInput): Promise<WorkflowResult> {
    return updateWorkflow(this.store, this.clock, target, (current) => ({
      name: patch.name ?? current.name,
      enabled: patch.enabled ?? current.enabled,
      trigger: patch.trigger ?? triggerSpecOf(current.trigger),
      actions: patch.actions ?? current.actions,
      retryPolicy: patch.retryPolicy ?? current.retryPolicy,
      ...((patch.retention ?? current.retention) ? { retention: (patch.retention ?? current.retention)! } : {}),
    }));
  }
}
