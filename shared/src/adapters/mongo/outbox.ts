import type { OutboxMessage } from '../../domain/outbox.js';
import { randomUUID } from 'node:crypto';
import { ConflictError } from '../../errors.js';
import type { OutboxRepo } from '../../ports/repos.js';
import { relayByLock } from '../relay-by-lock.js';
import { claimInBatch, notAfter, type MongoContext } from './connection.js';
import { throwIfDuplicate } from './errors.js';
import { compact, type OutboxDoc } from './schema.js';

// The mappers: a domain object in, a document out, and back: no `_id`, no bookkeeping.
export const toOutboxDoc = ({ id, ...rest }: OutboxMessage): OutboxDoc => compact({ _id: id, ...rest, published: false });
export const toOutbox = ({ _id, published: _published, claimToken: _claimToken, ...rest }: OutboxDoc): OutboxMessage => ({ id: _id, ...rest });


export function createOutboxRepo(ctx: MongoContext): OutboxRepo {
  const { models, serverNow, opts } = ctx;
  const outbox: OutboxRepo = {
    async add(message) {
      await throwIfDuplicate(
        () => models.Outbox.insertOne(toOutboxDoc(message), opts),
        () => new ConflictError(`outbox message ${message.id} already exists`),
      );
    },
    async claimBatch(lockMs, limit) {
      const now = await serverNow();
      // The claim's token is the lock token: it stays on the messages until another claim takes them.
      const lockToken = randomUUID();
      const claimed = await claimInBatch(
        models.Outbox,
        // In the order added: by createdAt (the writers' clocks), then id for a stable order.
        { filter: { published: false, lockedUntil: notAfter(now) }, sort: { createdAt: 1, _id: 1 }, limit },
        { $set: { lockedUntil: new Date(now.getTime() + lockMs) } },
        opts,
        lockToken,
      );
      return { lockToken, messages: claimed.map(toOutbox) };
    },
    async markPublished(lockToken, ids, at) {
      const result = await models.Outbox.updateMany(
        { _id: { $in: [...ids] }, claimToken: lockToken, published: false },
        { $set: { published: true, publishedAt: at }, $unset: { lockedUntil: '', claimToken: '' } },
        opts,
      );
      return result.matchedCount;
    },
    async markFailed(lockToken, ids, error) {
      const result = await models.Outbox.updateMany(
        { _id: { $in: [...ids] }, claimToken: lockToken, published: false },
        { $inc: { attempts: 1 }, $set: { lastError: error }, $unset: { lockedUntil: '', claimToken: '' } },
        opts,
      );
      return result.matchedCount;
    },
    relay: (lockMs, limit, publish) => relayByLock(outbox, lockMs, limit, publish, () => new Date()),
    async purgePublished(before, limit) {
      if (limit <= 0) return 0; // a MongoDB limit of 0 means "no limit"
      const doomed = await models.Outbox.find({ published: true, publishedAt: { $lt: before } }, { _id: 1 }, opts)
        .limit(limit)
        .lean<Pick<OutboxDoc, '_id'>[]>();
      if (doomed.length === 0) return 0;
      const result = await models.Outbox.deleteMany({ _id: { $in: doomed.map((d) => d._id) }, published: true }, opts);
      return result.deletedCount;
    },
    async backlog(now) {
      // Both answered from unpublished_queue, which holds the unpublished messages only.
      const count = await models.Outbox.countDocuments({ published: false }, opts);
      const oldest = await models.Outbox.findOne({ published: false }, { createdAt: 1 }, opts).sort({ createdAt: 1, _id: 1 }).lean<Pick<OutboxDoc, 'createdAt'>>();
      return { count, oldestAgeMs: oldest ? Math.max(0, now.getTime() - oldest.createdAt.getTime()) : 0 };
    },
  };
  return outbox;
}
