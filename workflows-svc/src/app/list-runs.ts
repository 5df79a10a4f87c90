import type { Execution, Page, PageRequest, RunFilter, Store } from '@wf/shared';

/** The caller's runs across workflows (or of one), newest first, filtered by status and creation time. */
export class ListRuns {
  constructor(private readonly store: Store) {}

  async execute(ownerId: string, filter: RunFilter, page: PageRequest): Promise<Page<Execution>> {
    return this.store.executions.listRuns(ownerId, filter, page);
  }
}
