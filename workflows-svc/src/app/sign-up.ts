import { ConflictError, newId, type Clock, type Store } from '@wf/shared';
import type { AccessTokens, PasswordHasher } from './ports.js';

/** An email (normalized with `normalizeEmail`) and a password. */
export interface Credentials {
  email: string;
  password: string;
}

export interface SignUpResult {
  userId: string;
  email: string;
  token: string;
  expiresIn: number;
}

export class SignUp {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly passwords: PasswordHasher,
    private readonly tokens: AccessTokens,
  ) {}

  /**
   * The password is hashed before the email is looked up, so a taken email and a new one
   * cost the same KDF run and the answer's timing adds nothing to what its status says.
   * The unique index decides a race between two signups.
   */
  async execute(input: Credentials): Promise<SignUpResult> {
    const passwordHash = await this.passwords.hash(input.password);
    if (await this.store.users.findByEmail(input.email)) throw emailTaken();
    const user = { userId: newId(), email: input.email, passwordHash, createdAt: this.clock.now(), sessionVersion: 0 };
    try {
      await this.store.users.create(user);
    } catch (err) {
      throw err instanceof ConflictError ? emailTaken() : err;
    }
    return { userId: user.userId, email: user.email, ...this.tokens.issue(user.userId) };
  }
}

const emailTaken = () => new ConflictError('email is already registered', undefined, 'email_taken');
