import { UnauthorizedError, type Store } from '@wf/shared';

/** Logs out: every dashboard session of the user ends, on every instance, at once. */
export class EndSessions {
  constructor(private readonly store: Store) {}

  async execute(userId: string): Promise<void> {
    if ((await this.store.users.revokeSessions(userId)) === null) throw new UnauthorizedError();
  }
}
