import { ConflictError, MAX_SECRETS_PER_USER, type Clock, type SecretInfo, type Store } from '@wf/shared';
import type { SecretSealer } from './ports.js';

/**
 * Creates or replaces one of the owner's secrets. Only its ciphertext is stored; the value
 * is never read back by this service. A user has at most `MAX_SECRETS_PER_USER`.
 */
export class PutSecret {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly sealer: SecretSealer,
  ) {}

  async execute(ownerId: string, name: string, value: string): Promise<{ created: boolean; secret: SecretInfo }> {
    const now = this.clock.now();
    const existing = await this.store.secrets.list(ownerId);
    const current = existing.find((s) => s.name === name);
    if (!current && existing.length >= MAX_SECRETS_PER_USER) {
      throw new ConflictError(`at most ${MAX_SECRETS_PER_USER} secrets per user; delete one first`, undefined, 'too_many_secrets');
    }
    const ciphertext = this.sealer.seal(ownerId, name, value);
    const created = await this.store.secrets.put({ ownerId, name, ciphertext, createdAt: now, updatedAt: now });
    return { created, secret: { name, createdAt: created || !current ? now : current.createdAt, updatedAt: now } };
  }
}
