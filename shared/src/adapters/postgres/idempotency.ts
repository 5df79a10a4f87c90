import { ConflictError } from '../../errors.js';
import type { IdempotencyRepo } from '../../ports/repos.js';
import { query, type PostgresContext } from './connection.js';


export function createIdempotencyRepo(ctx: PostgresContext): IdempotencyRepo {
  const { db } = ctx;
  const idempotency: IdempotencyRepo = {
    async find(ownerId, key, notBefore) {
      const { rows } = await query<{ execution_id: string }>(db, 'SELECT execution_id FROM idempotency_keys WHERE owner_id=$1 AND key=$2 AND created_at >= $3', [ownerId, key, notBefore]);
      return rows[0]?.execution_id ?? null;
    },
    async putIfAbsent(ownerId, key, executionId, at, notBefore) {
      // Inserts, or replaces an expired entry. A concurrent transaction's uncommitted entry makes
      // this INSERT wait for it to end: if it commits, its entry is live and nothing is written.
      const { rows } = await query<{ execution_id: string }>(
        db,
        `INSERT INTO idempotency_keys (owner_id, key, execution_id, created_at) VALUES ($1,$2,$3,$4)
         ON CONFLICT (owner_id, key) DO UPDATE SET execution_id=EXCLUDED.execution_id, created_at=EXCLUDED.created_at
         WHERE idempotency_keys.created_at < $5
         RETURNING execution_id`,
        [ownerId, key, executionId, at, notBefore],
      );
      if (rows[0]) return rows[0].execution_id;
      // A statement of its own: its snapshot, unlike the INSERT's, includes the entry it waited for.
      const { rows: live } = await query<{ execution_id: string }>(db, 'SELECT execution_id FROM idempotency_keys WHERE owner_id=$1 AND key=$2', [ownerId, key]);
      if (!live[0]) throw new ConflictError('idempotency key in use', undefined, 'idempotency_conflict');
      return live[0].execution_id;
    },
    async purgeExpired(before, limit) {
      const { rowCount } = await query(
        db,
        `DELETE FROM idempotency_keys WHERE (owner_id, key) IN (
           SELECT owner_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, limit],
      );
      return rowCount ?? 0;
    },
  };
  return idempotency;
}
