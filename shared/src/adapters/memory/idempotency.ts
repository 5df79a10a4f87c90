import type { IdempotencyRepo } from '../../ports/repos.js';
import { del, key, put, type MemoryContext } from './schema.js';


export function createIdempotencyRepo(ctx: MemoryContext): IdempotencyRepo {
  const { state, journal } = ctx;
  const idempotency: IdempotencyRepo = {
    async find(ownerId, idempotencyKey, notBefore) {
      const entry = state.idempotency.get(key(ownerId, idempotencyKey));
      return entry && entry.at.getTime() >= notBefore.getTime() ? entry.executionId : null;
    },
    async putIfAbsent(ownerId, idempotencyKey, executionId, at, notBefore) {
      const entry = state.idempotency.get(key(ownerId, idempotencyKey));
      if (entry && entry.at.getTime() >= notBefore.getTime()) return entry.executionId;
      put(journal, state.idempotency, key(ownerId, idempotencyKey), { executionId, at });
      return executionId;
    },
    async purgeExpired(before, limit) {
      let purged = 0;
      for (const [idempotencyKey, entry] of state.idempotency) {
        if (purged >= limit) break;
        if (entry.at.getTime() >= before.getTime()) continue;
        del(journal, state.idempotency, idempotencyKey);
        purged += 1;
      }
      return purged;
    },
  };
  return idempotency;
}
