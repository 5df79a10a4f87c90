import type { SecretRepo } from '../../ports/repos.js';
import { query, type PostgresContext } from './connection.js';


export function createSecretRepo(ctx: PostgresContext): SecretRepo {
  const { db } = ctx;
  const secrets: SecretRepo = {
    async put(secret) {
      // xmax = 0 only on a row this statement inserted.
      const { rows } = await query<{ created: boolean }>(
        db,
        `INSERT INTO secrets (owner_id, name, ciphertext, created_at, updated_at) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (owner_id, name) DO UPDATE SET ciphertext=EXCLUDED.ciphertext, updated_at=EXCLUDED.updated_at
         RETURNING (xmax = 0) AS created`,
        [secret.ownerId, secret.name, secret.ciphertext, secret.createdAt, secret.updatedAt],
      );
      return rows[0]?.created ?? false;
    },
    async list(ownerId) {
      const { rows } = await query<{ name: string; created_at: Date; updated_at: Date }>(
        db,
        'SELECT name, created_at, updated_at FROM secrets WHERE owner_id=$1 ORDER BY name COLLATE "C"',
        [ownerId],
      );
      return rows.map((r) => ({ name: r.name, createdAt: r.created_at, updatedAt: r.updated_at }));
    },
    async getMany(ownerId, names) {
      if (names.length === 0) return [];
      const { rows } = await query<{ name: string; ciphertext: string; created_at: Date; updated_at: Date }>(
        db,
        'SELECT name, ciphertext, created_at, updated_at FROM secrets WHERE owner_id=$1 AND name = ANY($2::text[])',
        [ownerId, [...names]],
      );
      return rows.map((r) => ({ ownerId, name: r.name, ciphertext: r.ciphertext, createdAt: r.created_at, updatedAt: r.updated_at }));
    },
    async delete(ownerId, name) {
      const { rowCount } = await query(db, 'DELETE FROM secrets WHERE owner_id=$1 AND name=$2', [ownerId, name]);
      return (rowCount ?? 0) > 0;
    },
  };
  return secrets;
}
