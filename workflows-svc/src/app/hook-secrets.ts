import { createHash, timingSafeEqual } from 'node:crypto';
import { newPublicId, newSecret } from '@wf/shared';

/** Only a SHA-256 of a hook secret is stored: a leaked database does not open the hooks. */
export const hashHookSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Compares hashes (fixed length) in constant time, so the answer time says nothing about the secret. */
export function hookSecretMatches(secret: string, storedHash: string | undefined): boolean {
  if (!storedHash) return false;
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export interface NewHook {
  hookId: string;
  /** Shown to the user once, never stored. */
  secret: string;
  secretHash: string;
}

export function newHook(): NewHook {
  const secret = newSecret();
  return { hookId: newPublicId(), secret, secretHash: hashHookSecret(secret) };
}
