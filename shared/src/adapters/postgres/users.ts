import type { User } from '../../domain/user.js';
import type { UserRepo } from '../../ports/repos.js';
import { query, type PostgresContext } from './connection.js';

export interface UserRow {
  user_id: string;
  email: string;
  password_hash: string;
  created_at: Date;
  session_version: number;
}


export function toUser(row: UserRow): User {
  return { userId: row.user_id, email: row.email, passwordHash: row.password_hash, createdAt: row.created_at, sessionVersion: row.session_version };
}


export function createUserRepo(ctx: PostgresContext): UserRepo {
  const { db } = ctx;
  const users: UserRepo = {
    async create(user) {
      await query(db, 'INSERT INTO users (user_id, email, password_hash, created_at, session_version) VALUES ($1,$2,$3,$4,$5)', [
        user.userId,
        user.email,
        user.passwordHash,
        user.createdAt,
        user.sessionVersion,
      ]);
    },
    async findByEmail(email) {
      const { rows } = await query<UserRow>(db, 'SELECT * FROM users WHERE email = $1', [email]);
      return rows[0] ? toUser(rows[0]) : null;
    },
    async findById(userId) {
      const { rows } = await query<UserRow>(db, 'SELECT * FROM users WHERE user_id = $1', [userId]);
      return rows[0] ? toUser(rows[0]) : null;
    },
    async revokeSessions(userId) {
      const { rows } = await query<{ session_version: number }>(
        db,
        'UPDATE users SET session_version = session_version + 1 WHERE user_id = $1 RETURNING session_version',
        [userId],
      );
      return rows[0]?.session_version ?? null;
    },
  };
  return users;
}
