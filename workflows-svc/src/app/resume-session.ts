import { UnauthorizedError, type Store } from '@wf/shared';
import type { SessionTokens } from './ports.js';
import type { SessionUser } from './start-session.js';

/** Who a session token belongs to, as long as no logout since it was issued has revoked it. */
export class ResumeSession {
  constructor(
    private readonly store: Store,
    private readonly sessions: SessionTokens,
  ) {}

  async execute(token: string): Promise<SessionUser> {
    const { userId, sessionVersion } = this.sessions.verify(token);
    const user = await this.store.users.findById(userId);
    if (!user || user.sessionVersion !== sessionVersion) throw new UnauthorizedError('the session has ended; log in again');
    return { userId: user.userId, email: user.email };
  }
}
