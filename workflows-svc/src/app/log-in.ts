import { randomBytes } from 'node:crypto';
import { UnauthorizedError, type Store, type User } from '@wf/shared';
import type { AccessTokens, IssuedToken, PasswordHasher } from './ports.js';
import type { Credentials } from './sign-up.js';

export class LogIn {
  /** A hash of a random password, made once, to verify against when the email is unknown. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: Store,
    private readonly passwords: PasswordHasher,
    private readonly tokens: AccessTokens,
  ) {}

  /**
   * An unknown email and a wrong password give the same error after the same work (one
   * KDF run), so neither the answer nor its timing tells whether an account exists.
   */
  async execute(input: Credentials): Promise<IssuedToken> {
    return this.tokens.issue((await this.checkCredentials(input)).userId);
  }

  /** The user these credentials are right for; `UnauthorizedError` otherwise (the dashboard's sessions log in with it too). */
  async checkCredentials(input: Credentials): Promise<User> {
    const user = await this.store.users.findByEmail(input.email);
    const hash = user?.passwordHash ?? (await this.dummy());
    const matches = await this.passwords.verify(input.password, hash);
    if (!user || !matches) throw new UnauthorizedError('invalid email or password');
    return user;
  }

  /** Made on first need (one extra KDF run, once per process); a failure is not cached. */
  private dummy(): Promise<string> {
    this.dummyHash ??= this.passwords.hash(randomBytes(32).toString('base64')).catch((err: unknown) => {
      this.dummyHash = undefined;
      throw err;
    });
    return this.dummyHash;
  }
}
