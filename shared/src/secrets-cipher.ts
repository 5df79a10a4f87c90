import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets at rest: AES-256-GCM under a 32-byte key (`SECRETS_KEY`, base64 or hex), a fresh
 * 12-byte IV per value, the owner and the name as additional data (a ciphertext copied to
 * another user or name does not decrypt). A ciphertext names the key it was made with
 * (`v1.<key id>.<iv|tag|data in base64url>`), so that after a rotation the previous keys
 * (`SECRETS_KEY_PREVIOUS`) still open what they sealed until it is written again.
 */
export class SecretsCipher {
  private readonly current: { id: string; key: Buffer };
  private readonly byId: Map<string, Buffer>;

  constructor(currentKey: string, previousKeys: readonly string[] = []) {
    const keys = [currentKey, ...previousKeys].map((k) => {
      const key = parseSecretsKey(k);
      return { id: keyId(key), key };
    });
    this.current = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  seal(ownerId: string, name: string, value: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(aad(ownerId, name));
    const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return `v1.${this.current.id}.${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url')}`;
  }

  /** Throws when the key that sealed it is not configured, or the ciphertext was tampered with. */
  open(ownerId: string, name: string, ciphertext: string): string {
    const [version, id, body] = ciphertext.split('.');
    if (version !== 'v1' || !id || !body) throw new Error('not a sealed secret');
    const key = this.byId.get(id);
    if (!key) throw new Error(`sealed with key ${id}, which is neither SECRETS_KEY nor one of SECRETS_KEY_PREVIOUS`);
    const raw = Buffer.from(body, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(aad(ownerId, name));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** Whether `ciphertext` was sealed with a key other than the current one (it is re-sealed when written again). */
  isStale(ciphertext: string): boolean {
    return ciphertext.split('.')[1] !== this.current.id;
  }
}

/** A 32-byte key from 64 hex digits or base64 (44 characters). */
export function parseSecretsKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error('must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
  return key;
}

export const newSecretsKey = (): string => randomBytes(32).toString('base64');

const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);
const aad = (ownerId: string, name: string) => Buffer.from(`${ownerId}\u0000${name}`, 'utf8');
