import type { Credentials } from './sign-up.js';
import type { LogIn } from './log-in.js';
import type { IssuedToken, SessionTokens } from './ports.js';

/** Who a dashboard session belongs to. */
export interface SessionUser {
  userId: string;
  email: string;
}

/** Logs in to the dashboard: the same credential check as `LogIn`, a session token instead of a bearer token. */
export class StartSession {
  constructor(
    private readonly logIn: LogIn,
    private readonly sessions: SessionTokens,
  ) {}

  async execute(input: Credentials): Promise<SessionUser & IssuedToken> {
    const user = await this.logIn.checkCredentials(input);
    return { userId: user.userId, email: user.email, ...this.sessions.issue(user.userId, user.sessionVersion) };
  }
}
