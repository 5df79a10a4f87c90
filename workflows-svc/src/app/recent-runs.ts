import type { RecentRun, Store } from '@wf/shared';

/** How many of a workflow's newest runs its outcome strip shows. */
export const RECENT_RUNS_PER_WORKFLOW = 20;

/** The newest runs of each of the caller's workflows named, for the workflows table's outcome strips. */
export class GetRecentRuns {
  constructor(private readonly store: Store) {}

  async execute(ownerId: string, workflowIds: readonly string[]): Promise<Record<string, RecentRun[]>> {
    return this.store.executions.recentRuns(ownerId, [...new Set(workflowIds)], RECENT_RUNS_PER_WORKFLOW);
  }
}
