import type { SecretRepo } from '../../ports/repos.js';
import { clone, del, key, put, type MemoryContext } from './schema.js';


export function createSecretRepo(ctx: MemoryContext): SecretRepo {
  const { state: s, journal: j } = ctx;
  const secrets: SecretRepo = {
    async put(secret) {
      const k = key(secret.ownerId, secret.name);
      const existing = s.secrets.get(k);
      put(j, s.secrets, k, clone(existing ? { ...secret, createdAt: existing.createdAt } : secret));
      return !existing;
    },
    async list(ownerId) {
      return [...s.secrets.values()]
        .filter((x) => x.ownerId === ownerId)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(({ name, createdAt, updatedAt }) => clone({ name, createdAt, updatedAt }));
    },
    async getMany(ownerId, names) {
      return names.flatMap((name) => {
        const found = s.secrets.get(key(ownerId, name));
        return found ? [clone(found)] : [];
      });
    },
    async delete(ownerId, name) {
      const k = key(ownerId, name);
      if (!s.secrets.has(k)) return false;
      del(j, s.secrets, k);
      return true;
    },
  };
  return secrets;
}
