import type { Page, PageRequest, Store, Workflow } from '@wf/shared';

export class ListWorkflows {
  constructor(private readonly store: Store) {}

  /** The owner's workflows ordered by workflowId. */
  execute(ownerId: string, page: PageRequest): Promise<Page<Workflow>> {
    return this.store.workflows.list(ownerId, page);
  }
}
