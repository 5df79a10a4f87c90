import { UnauthorizedError, type Store } from '@wf/shared';
import type { SessionUser } from './start-session.js';

/** The signed-in user, for the dashboard's header. */
export class GetCurrentUser {
  constructor(private readonly store: Store) {}

  async execute(userId: string): Promise<SessionUser> {
    const user = await this.store.users.findById(userId);
    if (!user) throw new UnauthorizedError();
    return { userId: user.userId, email: user.email };
  }
}
