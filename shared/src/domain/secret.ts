import { z } from 'zod';

/** A secret's name: what `{{secrets.NAME}}` refers to in an action field. */
export const SecretNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'must start with a letter or "_" and contain only letters, digits, "_" and "-"');

/** Long enough that replacing it in outputs and logs never mangles ordinary text. */
export const SHORTEST_SECRET = 4;
export const SecretValueSchema = z.string().min(SHORTEST_SECRET).max(8_192);

export const MAX_SECRETS_PER_USER = 200;

/** A user's secret as stored: its value only as ciphertext (see `secrets-cipher.ts`), opaque to the stores. */
export interface StoredSecret {
  ownerId: string;
  name: string;
  ciphertext: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What may be told about a secret: never its value. */
export type SecretInfo = Pick<StoredSecret, 'name' | 'createdAt' | 'updatedAt'>;

const SECRET_PLACEHOLDER = /\{\{\s*secrets\.([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The names of the secrets an action refers to (`{{secrets.NAME}}` anywhere in it). */
export function secretsReferenced(action: unknown): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(SECRET_PLACEHOLDER)) names.add(m[1] as string);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(action);
  return [...names];
}
