import { NotFoundError, type Store } from '@wf/shared';

/** Deletes one of the owner's secrets; a step that uses it afterwards fails with "not set". */
export class DeleteSecret {
  constructor(private readonly store: Store) {}

  async execute(ownerId: string, name: string): Promise<void> {
    if (!(await this.store.secrets.delete(ownerId, name))) throw new NotFoundError(`secret ${name} not found`);
  }
}
