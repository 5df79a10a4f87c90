import type { Page, PageRequest, Store, Workflow } from '@wf/shared';

export class ListWorkflows {
  constructor(private readonly store: Store) {}

  /** The owner's workflows ordered by workflowId; with `idPrefix`, those whose id starts with it. */
  execute(ownerId: string, page: PageRequest, idPrefix?: string): Promise<Page<Workflow>> {
    return this.store.workflows.list(ownerId, page, idPrefix);
  }
}
