import type { SecretInfo, Store } from '@wf/shared';

/** The owner's secrets by name, with their dates: never their values. */
export class ListSecrets {
  constructor(private readonly store: Store) {}

  execute(ownerId: string): Promise<SecretInfo[]> {
    return this.store.secrets.list(ownerId);
  }
}
