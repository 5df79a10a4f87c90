import type { IdempotencyRepo } from '../../ports/repos.js';
import type { MongoContext } from './connection.js';
import { duplicateKey } from './errors.js';
import type { IdempotencyDoc } from './schema.js';


export function createIdempotencyRepo(ctx: MongoContext): IdempotencyRepo {
  const { models, opts } = ctx;
  const findKey = async (ownerId: string, key: string, notBefore: Date) => {
    const doc = await models.Idempotency.findOne({ ownerId, key, createdAt: { $gte: notBefore } }, { executionId: 1 }, opts).lean<Pick<IdempotencyDoc, 'executionId'>>();
    return doc ? doc.executionId : null;
  };
  const idempotency: IdempotencyRepo = {
    find: findKey,
    async putIfAbsent(ownerId, key, executionId, at, notBefore) {
      const live = await findKey(ownerId, key, notBefore);
      if (live !== null) return live;
      try {
        // Inserts, or overwrites an expired entry. In a transaction, a concurrent one's entry for
        // the same key is a write conflict: withTransaction runs the work again, and the read
        // above then finds the winner's entry.
        await models.Idempotency.updateOne({ ownerId, key, createdAt: { $lt: notBefore } }, { $set: { executionId, createdAt: at } }, { ...opts, upsert: true });
        return executionId;
      } catch (err) {
        // Outside a transaction: the unique index refused a second entry written since the read.
        const winner = duplicateKey(err) ? await findKey(ownerId, key, notBefore) : null;
        if (winner === null) throw err;
        return winner;
      }
    },
    async purgeExpired(before, limit) {
      if (limit <= 0) return 0; // a MongoDB limit of 0 means "no limit"
      // By the TTL index on createdAt, which deletes them too, about a minute late at worst.
      const doomed = await models.Idempotency.find({ createdAt: { $lt: before } }, { _id: 1 }, opts).limit(limit).batchSize(limit).lean<{ _id: unknown }[]>();
      if (doomed.length === 0) return 0;
      const result = await models.Idempotency.deleteMany({ _id: { $in: doomed.map((d) => d._id) }, createdAt: { $lt: before } }, opts);
      return result.deletedCount;
    },
  };
  return idempotency;
}
