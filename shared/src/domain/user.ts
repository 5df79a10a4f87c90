/**
 * An account's identity is its email as this returns it: signup, login and the limits on
 * both apply it once, so `Ada@Example.com ` and `ada@example.com` are one account.
 */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export interface User {
  userId: string;
  /** Normalized (`normalizeEmail`). */
  email: string;
  /** `scrypt$N$r$p$salt$hash`, base64 parts. */
  passwordHash: string;
  createdAt: Date;
  /** Raised by a dashboard logout: session cookies issued under an older version are refused. */
  sessionVersion: number;
}
