import { SecretsCipher, type SecretsKeys, type Store } from '@wf/shared';
import { PermanentActionError } from '../actions/action.js';

/**
 * Opens the secrets a step refers to, from the store, at the moment the step runs: values
 * live only in the memory of that step. A secret that is not set (or that no configured key
 * opens) fails the step for good: retrying cannot set it.
 */
export class SecretResolver {
  private readonly cipher: SecretsCipher;

  constructor(private readonly store: Store, keys: SecretsKeys) {
    this.cipher = new SecretsCipher(keys.current, keys.previous);
  }

  async resolve(ownerId: string, names: readonly string[]): Promise<Record<string, string>> {
    if (names.length === 0) return {};
    const found = new Map((await this.store.secrets.getMany(ownerId, names)).map((s) => [s.name, s]));
    const values: Record<string, string> = {};
    for (const name of names) {
      const secret = found.get(name);
      if (!secret) throw new PermanentActionError(`secret "${name}" is not set (PUT /secrets/${name} sets it)`);
      try {
        values[name] = this.cipher.open(ownerId, name, secret.ciphertext);
      } catch (err) {
        throw new PermanentActionError(`secret "${name}" cannot be opened: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return values;
  }
}

/**
 * A copy of `value` with every occurrence of a secret's value in its strings (keys too)
 * replaced by `[secret:NAME]`: what a step keeps, logs or reports never holds one, whatever
 * the receiving server echoed. (A secret is at least `SHORTEST_SECRET` characters long, so
 * that concealing it never mangles ordinary text.)
 */
export function concealSecrets<T>(value: T, secrets: Record<string, string>): T {
  const entries = Object.entries(secrets).sort(([, a], [, b]) => b.length - a.length);
  if (entries.length === 0) return value;
  const text = (s: string) => {
    let out = s;
    for (const [name, secret] of entries) {
      out = out.split(secret).join(`[secret:${name}]`);
    }
    return out;
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return text(v);
    if (depth > 32) return '[too deep]';
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), walk(x, depth + 1)]));
    return v;
  };
  return walk(value, 0) as T;
}
