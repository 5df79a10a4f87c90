import type { User } from '../../domain/user.js';
import { ConflictError } from '../../errors.js';
import type { UserRepo } from '../../ports/repos.js';
import type { MongoContext } from './connection.js';
import { collidedOn, throwIfDuplicate } from './errors.js';
import { compact, INDEX, type UserDoc } from './schema.js';

// The mappers: a domain object in, a document out, and back: no `_id`, no bookkeeping.
export const toUserDoc = ({ userId, ...rest }: User): UserDoc => compact({ _id: userId, ...rest });
export const toUser = ({ _id, ...rest }: UserDoc): User => ({ userId: _id, ...rest });


export function createUserRepo(ctx: MongoContext): UserRepo {
  const { models, opts } = ctx;
  const users: UserRepo = {
    async create(user) {
      await throwIfDuplicate(
        () => models.User.insertOne(toUserDoc(user), opts),
        (dup) => (collidedOn(dup, INDEX.email, 'email') ? new ConflictError('email is already registered', undefined, 'email_taken') : new ConflictError(`user ${user.userId} already exists`)),
      );
    },
    async findByEmail(email) {
      const doc = await models.User.findOne({ email }, null, opts).lean<UserDoc>();
      return doc ? toUser(doc) : null;
    },
    async findById(userId) {
      const doc = await models.User.findOne({ _id: userId }, null, opts).lean<UserDoc>();
      return doc ? toUser(doc) : null;
    },
    async revokeSessions(userId) {
      const doc = await models.User.findOneAndUpdate({ _id: userId }, { $inc: { sessionVersion: 1 } }, { ...opts, returnDocument: 'after' }).lean<UserDoc>();
      return doc ? doc.sessionVersion : null;
    },
  };
  return users;
}
