import type { IdempotencyRepo } from '../../ports/repos.js';
import { del, key, put, type MemoryContext } from './schema.js';


export function createIdempotencyRepo(ctx: MemoryContext): IdempotencyRepo {
  const { state: s, journal: j } = ctx;
  const idempotency: IdempotencyRepo = {
    async find(ownerId, k, notBefore) {
      const entry = s.idempotency.get(key(ownerId, k));
      return entry && entry.at.getTime() >= notBefore.getTime() ? entry.executionId : null;
    },
    async putIfAbsent(ownerId, k, executionId, at, notBefore) {
      const entry = s.idempotency.get(key(ownerId, k));
      if (entry && entry.at.getTime() >= notBefore.getTime()) return entry.executionId;
      put(j, s.idempotency, key(ownerId, k), { executionId, at });
      return executionId;
    },
    async purgeExpired(before, limit) {
      let purged = 0;
      for (const [k, entry] of s.idempotency) {
        if (purged >= limit) break;
        if (entry.at.getTime() >= before.getTime()) continue;
        del(j, s.idempotency, k);
        purged += 1;
      }
      return purged;
    },
  };
  return idempotency;
}
