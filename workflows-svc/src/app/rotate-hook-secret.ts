import { ConflictError, type Clock, type Store, type Workflow } from '@wf/shared';
import { newHook } from './hook-secrets.js';
import { assertVersion, workflowNotFound } from './workflow-definition.js';
import type { UpdateTarget } from './update-workflow.js';

export interface RotatedHook {
  hookId: string;
  /** The new secret, shown this once; the old one stops working when this returns. */
  secret: string;
  workflow: Workflow;
}

/** Keeps the hook id (callers configured with header-style secrets change one value) and replaces the secret. */
export class RotateHookSecret {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  execute(target: UpdateTarget): Promise<RotatedHook> {
    return this.store.uow.run(async (tx) => {
      const current = await tx.workflows.get(target.ownerId, target.workflowId);
      if (!current) throw workflowNotFound(target.workflowId);
      assertVersion(current, target.expectedVersion);
      const hookId = current.trigger.hookId;
      if (current.trigger.type !== 'webhook' || !hookId) {
        throw new ConflictError(`workflow "${target.workflowId}" has no webhook trigger`, { triggerType: current.trigger.type }, 'not_a_webhook');
      }
      const { secret, secretHash } = newHook();
      const workflow: Workflow = {
        ...current,
        trigger: { ...current.trigger, secretHash },
        version: current.version + 1,
        updatedAt: this.clock.now(),
      };
      await tx.workflows.replace(workflow, current.version);
      return { hookId, secret, workflow };
    });
  }
}
