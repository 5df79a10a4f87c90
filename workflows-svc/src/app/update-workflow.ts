import type { Clock, Store, Workflow } from '@wf/shared';
import { assertVersion, workflowNotFound, type Definition, type WorkflowResult } from './workflow-definition.js';
import { buildTrigger } from './workflow-trigger.js';

export interface UpdateTarget {
  ownerId: string;
  workflowId: string;
  /** From `If-Match`: the version the client last saw. */
  expectedVersion?: number;
}

/**
 * Read, change, write back in one unit of work. The read and the write must not be split:
 * `trigger.status` and the schedule are written by the scheduler and the runner without a
 * version bump, so a stale copy written back would undo their change (e.g. leave a
 * workflow `busy` forever). Shared by replace and patch, which differ only in `change`.
 */
export async function updateWorkflow(
  store: Store,
  clock: Clock,
  target: UpdateTarget,
  change: (current: Workflow) => Definition,
): Promise<WorkflowResult> {
  return store.uow.run(async (tx) => {
    const current = await tx.workflows.get(target.ownerId, target.workflowId);
    if (!current) throw workflowNotFound(target.workflowId);
    assertVersion(current, target.expectedVersion);
    const now = clock.now();
    const { trigger: spec, ...definition } = change(current);
    const { trigger, hookSecret } = buildTrigger(spec, current.trigger, now);
    const { retention: _kept, ...rest } = current;
    // What the new definition leaves out is gone (a replace without `retention` keeps every run again).
    const workflow: Workflow = { ...rest, ...definition, trigger, version: current.version + 1, updatedAt: now };
    await tx.workflows.replace(workflow, current.version);
    return hookSecret === undefined ? { workflow } : { workflow, hookSecret };
  });
}
