import type { SecretRepo } from '../../ports/repos.js';
import { clone, del, key, put, type MemoryContext } from './schema.js';


export function createSecretRepo(ctx: MemoryContext): SecretRepo {
  const { state, journal } = ctx;
  const secrets: SecretRepo = {
    async put(secret) {
      const secretKey = key(secret.ownerId, secret.name);
      const existing = state.secrets.get(secretKey);
      put(journal, state.secrets, secretKey, clone(existing ? { ...secret, createdAt: existing.createdAt } : secret));
      return !existing;
    },
    async list(ownerId) {
      return [...state.secrets.values()]
        .filter((x) => x.ownerId === ownerId)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(({ name, createdAt, updatedAt }) => clone({ name, createdAt, updatedAt }));
    },
    async getMany(ownerId, names) {
      return names.flatMap((name) => {
        const found = state.secrets.get(key(ownerId, name));
        return found ? [clone(found)] : [];
      });
    },
    async delete(ownerId, name) {
      const secretKey = key(ownerId, name);
      if (!state.secrets.has(secretKey)) return false;
      del(journal, state.secrets, secretKey);
      return true;
    },
  };
  return secrets;
}
