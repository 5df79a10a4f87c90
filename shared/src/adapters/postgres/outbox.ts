import type { OutboxMessage } from '../../domain/outbox.js';
import pg from 'pg';
import { ConflictError, UnavailableError } from '../../errors.js';
import type { OutboxRepo } from '../../ports/repos.js';
import { newId } from '../../ids.js';
import { json, NOW, NOW_PLUS, opt, query, type PostgresContext, type Queryable } from './connection.js';
import { isConnectionError, toStoreError } from './errors.js';
import { SCRAPE_SQL } from './schema.js';

export interface OutboxRow {
  seq: string;
  id: string;
  topic: string;
  key: string;
  event: OutboxMessage['event'];
  created_at: Date;
  published_at: Date | null;
  attempts: number;
  last_error: string | null;
  locked_until: Date | null;
  lock_token: string | null;
}


export function toOutbox(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    topic: row.topic,
    key: row.key,
    event: row.event,
    createdAt: row.created_at,
    attempts: row.attempts,
    ...opt('publishedAt', row.published_at),
    ...opt('lastError', row.last_error),
    ...opt('lockedUntil', row.locked_until),
  };
}

/** A relay's publish failed (its failure recorded in the transaction, which commits). */
class PublishFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('publish failed');
  }
}

export function createOutboxRepo(ctx: PostgresContext): OutboxRepo {
  const { db } = ctx;
  const outbox: OutboxRepo = {
    async add(message) {
      await query(db, 'INSERT INTO outbox (id, topic, key, event, created_at, attempts) VALUES ($1,$2,$3,$4,$5,$6)', [message.id, message.topic, message.key, json(message.event), message.createdAt, message.attempts]).catch(
        (err: unknown) => {
          throw err instanceof ConflictError ? new ConflictError(`outbox message ${message.id} already exists`) : err;
        },
      );
    },
    async claimBatch(lockMs, limit) {
      const lockToken = newId();
      const { rows } = await query<OutboxRow>(
        db,
        `UPDATE outbox SET locked_until=${NOW_PLUS('$1')}, lock_token=$3 WHERE id IN (
           SELECT id FROM outbox WHERE published_at IS NULL AND (locked_until IS NULL OR locked_until <= ${NOW})
           ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [lockMs, limit, lockToken],
      );
      return { lockToken, messages: rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toOutbox) };
    },
    async markPublished(lockToken, ids, at) {
      const { rowCount } = await query(
        db,
        'UPDATE outbox SET published_at=$3, locked_until=NULL, lock_token=NULL WHERE id = ANY($2::text[]) AND lock_token=$1 AND published_at IS NULL',
        [lockToken, ids, at],
      );
      return rowCount ?? 0;
    },
    async markFailed(lockToken, ids, error) {
      const { rowCount } = await query(
        db,
        'UPDATE outbox SET attempts=attempts+1, last_error=$3, locked_until=NULL, lock_token=NULL WHERE id = ANY($2::text[]) AND lock_token=$1 AND published_at IS NULL',
        [lockToken, ids, error],
      );
      return rowCount ?? 0;
    },
    async relay(lockMs, limit, publish) {
      // Row locks held over the publish, in a transaction: no other relay gets these rows until it
      // ends, and each row is written once, published or failed. Should this connection die
      // mid-publish, the locks go with it and nothing is marked; the messages go out again.
      // (The lock columns are still honoured, so relays that claim with them can run alongside.)
      const pass = async (tx: Queryable) => {
        const { rows } = await query<OutboxRow>(
          tx,
          `SELECT * FROM outbox WHERE published_at IS NULL AND (locked_until IS NULL OR locked_until <= ${NOW})
           ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        if (rows.length === 0) return { claimed: 0, marked: 0 };
        const ids = rows.map((r) => r.id);
        try {
          await publish(rows.map(toOutbox));
        } catch (err) {
          await query(tx, 'UPDATE outbox SET attempts=attempts+1, last_error=$2, locked_until=NULL, lock_token=NULL WHERE id = ANY($1::text[])', [
            ids,
            err instanceof Error ? err.message : String(err),
          ]);
          throw new PublishFailed(err);
        }
        const { rowCount } = await query(tx, `UPDATE outbox SET published_at=${NOW}, locked_until=NULL, lock_token=NULL WHERE id = ANY($1::text[])`, [ids]);
        return { claimed: rows.length, marked: rowCount ?? 0 };
      };
      void lockMs; // the row locks last as long as the transaction
      if (!(db instanceof pg.Pool)) {
        // Already in a transaction: the caller's outcome decides.
        return pass(db).catch((err: unknown) => {
          throw err instanceof PublishFailed ? err.cause : err;
        });
      }
      const client = await db.connect().catch((err: unknown) => {
        throw toStoreError(err);
      });
      let broken: unknown;
      let publishFailure: PublishFailed | undefined;
      try {
        await client.query('BEGIN');
        // A failed publish is recorded and committed, then rethrown (below); anything else rolls back.
        const result = await pass(client).catch((err: unknown) => {
          if (!(err instanceof PublishFailed)) throw err;
          publishFailure = err;
          return undefined;
        });
        await client.query('COMMIT');
        if (result) return result;
      } catch (err) {
        if (err instanceof UnavailableError || isConnectionError(err)) broken = err;
        else await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
        throw toStoreError(err);
      } finally {
        // A broken client (the connection lost mid-pass) is discarded, not pooled again.
        client.release(broken !== undefined);
      }
      throw publishFailure!.cause;
    },
    async purgePublished(before, limit) {
      const { rowCount } = await query(db, 'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < $1 LIMIT $2)', [before, limit]);
      return rowCount ?? 0;
    },
    async backlog(now) {
      const { rows } = await query<{ n: string; oldest: Date | null }>(db, SCRAPE_SQL.backlog);
      const oldest = rows[0]?.oldest;
      return { count: Number(rows[0]?.n ?? 0), oldestAgeMs: oldest ? Math.max(0, now.getTime() - oldest.getTime()) : 0 };
    },
  };
  return outbox;
}
