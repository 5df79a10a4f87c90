import { UnauthorizedError, type Clock, type Store } from '@wf/shared';
import type { AccessTokens } from './ports.js';

/** How long a user found by id is taken to exist without asking the store again. */
export const KNOWN_USER_TTL_MS = 30_000;
/** Bound on the users remembered; past it the memory starts afresh. */
const MAX_KNOWN_USERS = 10_000;

/**
 * Who a bearer token speaks for: a token that verifies, of a user that still exists (a
 * token outlives an account removed from the store, and must stop opening the API). The
 * lookup is by primary key and remembered for `KNOWN_USER_TTL_MS`, so a busy client costs
 * one read per half minute, not one per request.
 */
export class AuthenticateUser {
  private readonly knownUntil = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly tokens: AccessTokens,
    private readonly clock: Clock,
  ) {}

  async execute(token: string): Promise<string> {
    const userId = this.tokens.verify(token);
    const now = this.clock.now().getTime();
    if ((this.knownUntil.get(userId) ?? 0) > now) return userId;
    if (!(await this.store.users.findById(userId))) throw new UnauthorizedError('invalid or expired token');
    if (this.knownUntil.size >= MAX_KNOWN_USERS) this.knownUntil.clear();
    this.knownUntil.set(userId, now + KNOWN_USER_TTL_MS);
    return userId;
  }
}
