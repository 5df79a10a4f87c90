import { ConflictError } from '../../errors.js';
import type { UserRepo } from '../../ports/repos.js';
import { clone, put, type MemoryContext } from './schema.js';


export function createUserRepo(ctx: MemoryContext): UserRepo {
  const { state: s, journal: j } = ctx;
  const users: UserRepo = {
    async create(u) {
      if (s.emails.has(u.email)) throw new ConflictError('email is already registered', undefined, 'email_taken');
      put(j, s.users, u.userId, clone(u));
      put(j, s.emails, u.email, u.userId);
    },
    async findByEmail(email) {
      const id = s.emails.get(email);
      const u = id ? s.users.get(id) : undefined;
      return u ? clone(u) : null;
    },
    async findById(userId) {
      const u = s.users.get(userId);
      return u ? clone(u) : null;
    },
    async revokeSessions(userId) {
      const u = s.users.get(userId);
      if (!u) return null;
      put(j, s.users, userId, { ...u, sessionVersion: u.sessionVersion + 1 });
      return u.sessionVersion + 1;
    },
  };
  return users;
}
