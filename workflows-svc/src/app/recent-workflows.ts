import type { Workflow } from '@wf/shared';

export interface RecentWorkflowsLimits {
  /** Most workflows kept. */
  maxEntries: number;
  /** Most characters of actions (as JSON) kept, summed over the workflows: a definition may be large. */
  maxActionChars: number;
}

export const DEFAULT_RECENT_WORKFLOWS_LIMITS: RecentWorkflowsLimits = { maxEntries: 2_000, maxActionChars: 8_000_000 };

interface Entry {
  workflow: Workflow;
  actionChars: number;
}

/**
 * Enabled workflows as this instance last read them to trigger a run, by owner and id. A copy
 * may be stale (another instance may have changed, disabled or deleted the workflow): it is
 * only ever used for a write that holds just while the stored workflow is still that same
 * revision (`WorkflowRepo.acceptRun` with the workflow as read), so a stale copy costs a
 * missed write and a fresh read, never a wrong run. Bounded in count and in size, oldest
 * forgotten first.
 */
export class RecentWorkflows {
  private readonly entries = new Map<string, Entry>();
  private actionChars = 0;

  constructor(private readonly limits: RecentWorkflowsLimits = DEFAULT_RECENT_WORKFLOWS_LIMITS) {}

  get(ownerId: string, workflowId: string): Workflow | undefined {
    return this.entries.get(keyOf(ownerId, workflowId))?.workflow;
  }

  /** Keeps `workflow` (replacing an older copy); a disabled one is forgotten instead: its refusal must come from a fresh read. */
  remember(workflow: Workflow): void {
    this.forget(workflow.ownerId, workflow.workflowId);
    if (!workflow.enabled) return;
    const actionChars = JSON.stringify(workflow.actions).length;
    if (actionChars > this.limits.maxActionChars) return;
    this.entries.set(keyOf(workflow.ownerId, workflow.workflowId), { workflow, actionChars });
    this.actionChars += actionChars;
    this.evictOverLimits();
  }

  forget(ownerId: string, workflowId: string): void {
    const key = keyOf(ownerId, workflowId);
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.actionChars -= entry.actionChars;
  }

  get size(): number {
    return this.entries.size;
  }

  private evictOverLimits(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.actionChars <= this.limits.maxActionChars) return;
      this.entries.delete(key);
      this.actionChars -= entry.actionChars;
    }
  }
}

/** Ids cannot hold a newline (they are `[A-Za-z0-9_-]`), so the pair maps to one key only. */
const keyOf = (ownerId: string, workflowId: string) => `${ownerId}\n${workflowId}`;
