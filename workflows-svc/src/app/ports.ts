/** Ports the use cases of this service need beyond the store (adapters in `src/auth`). */

export interface PasswordHasher {
  /** A self-describing hash (algorithm, parameters, salt) of `password`. */
  hash(password: string): Promise<string>;
  /** Whether `password` matches `stored`; false (never a throw) for a malformed `stored`. */
  verify(password: string, stored: string): Promise<boolean>;
}

export interface IssuedToken {
  token: string;
  /** Seconds until the token expires. */
  expiresIn: number;
}

export interface AccessTokens {
  issue(userId: string): IssuedToken;
  /** The userId the token was issued to; throws `UnauthorizedError` for anything else. */
  verify(token: string): string;
}

/** The dashboard's sessions: a token bound to the user's session version at the time of login. */
export interface SessionTokens {
  issue(userId: string, sessionVersion: number): IssuedToken;
  /** Throws `UnauthorizedError` for a token that is not a valid session token. */
  verify(token: string): { userId: string; sessionVersion: number };
}

/** Seals a secret's value for the store (AES-256-GCM in `SecretsCipher`); bound to its owner and name. */
export interface SecretSealer {
  seal(ownerId: string, name: string, value: string): string;
}
