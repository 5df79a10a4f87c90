import { ConflictError, newId, type Clock, type SignupInput, type Store } from '@wf/shared';
import type { AccessTokens, PasswordHasher } from './ports.js';

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

  /** `input.email` is already normalized (lower case) by `SignupSchema`. */
  async execute(input: SignupInput): Promise<SignUpResult> {
    // Checked before hashing to spare the KDF; the unique index still decides a race.
    if (await this.store.users.findByEmail(input.email)) throw emailTaken();
    const user = { userId: newId(), email: input.email, passwordHash: await this.passwords.hash(input.password), createdAt: this.clock.now() };
    try {
      await this.store.users.create(user);
    } catch (err) {
      throw err instanceof ConflictError ? emailTaken() : err;
    }
    return { userId: user.userId, email: user.email, ...this.tokens.issue(user.userId) };
  }
}

const emailTaken = () => new ConflictError('email is already registered', undefined, 'email_taken');
