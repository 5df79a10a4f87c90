import { ConflictError } from '../../errors.js';
import type { UserRepo } from '../../ports/repos.js';
import { clone, put, type MemoryContext } from './schema.js';


export function createUserRepo(ctx: MemoryContext): UserRepo {
  const { state, journal } = ctx;
  const users: UserRepo = {
    async create(user) {
      if (state.emails.has(user.email)) throw new ConflictError('email is already registered', undefined, 'email_taken');
      put(journal, state.users, user.userId, clone(user));
      put(journal, state.emails, user.email, user.userId);
    },
    async findByEmail(email) {
      const id = state.emails.get(email);
      const user = id ? state.users.get(id) : undefined;
      return user ? clone(user) : null;
    },
    async findById(userId) {
      const user = state.users.get(userId);
      return user ? clone(user) : null;
    },
    async revokeSessions(userId) {
      const user = state.users.get(userId);
      if (!user) return null;
      put(journal, state.users, userId, { ...user, sessionVersion: user.sessionVersion + 1 });
      return user.sessionVersion + 1;
    },
  };
  return users;
}
