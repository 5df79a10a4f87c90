import type pg from 'pg';
import { UnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Repos, Store } from '../../ports/repos.js';
import { DEFAULT_MAX_STEP_OUTPUT_BYTES, type StepBoundOptions } from '../step-bound.js';
import { createPool, NOW, query, type Queryable } from './connection.js';
import { isConnectionError, toStoreError } from './errors.js';
import { createExecutionRepo } from './executions.js';
import { createIdempotencyRepo } from './idempotency.js';
import { MIGRATIONS } from './schema.js';
import { createOutboxRepo } from './outbox.js';
import { createSecretRepo } from './secrets.js';
import { createUserRepo } from './users.js';
import { createWorkflowRepo } from './workflows.js';

export interface PostgresStoreOptions extends StepBoundOptions {
  url: string;
  poolSize?: number;
  /** A schema of its own (created if missing): lets tests and tenants share a database. */
  schema?: string;
  logger?: Logger;
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock

function repos(db: Queryable, maxStepOutputBytes: number): Repos {
  const ctx = { db, maxStepOutputBytes };
  return {
    workflows: createWorkflowRepo(ctx),
    executions: createExecutionRepo(ctx),
    outbox: createOutboxRepo(ctx),
    users: createUserRepo(ctx),
    idempotency: createIdempotencyRepo(ctx),
    secrets: createSecretRepo(ctx),
  };
}

/**
 * The PostgreSQL store: plain SQL on a pooled connection, migrations at `init()`, claims
 * with `FOR UPDATE SKIP LOCKED`, compare-and-set updates whose condition sits in the
 * WHERE clause (under READ COMMITTED a concurrent writer re-checks it after the first
 * commits, so exactly one wins).
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const pool = createPool({ url: options.url, ...(options.poolSize ? { poolSize: options.poolSize } : {}), ...(schema ? { schema } : {}), ...(options.logger ? { logger: options.logger } : {}) });

  const maxStepOutputBytes = options.maxStepOutputBytes ?? DEFAULT_MAX_STEP_OUTPUT_BYTES;
  return {
    kind: 'postgres',
    ...repos(pool, maxStepOutputBytes),
    uow: {
      async run(work) {
        for (let attempt = 1; ; attempt++) {
          let client: pg.PoolClient;
          try {
            client = await pool.connect();
          } catch (err) {
            throw toStoreError(err);
          }
          let broken: unknown;
          try {
            await client.query('BEGIN');
            const result = await work(repos(client, maxStepOutputBytes));
            await client.query('COMMIT');
            return result;
          } catch (err) {
            // A lost connection (COMMIT included: its outcome is then unknown) is a 503; the broken client is discarded.
            if (err instanceof UnavailableError || isConnectionError(err)) broken = err;
            else await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
            const code = (err as { code?: string }).code;
            if (code && RETRYABLE.has(code) && attempt < 5 && !broken) continue;
            throw toStoreError(err);
          } finally {
            client.release(broken !== undefined);
          }
        }
      },
    },
    async init() {
      const client = await pool.connect().catch((err: unknown) => {
        throw toStoreError(err);
      });
      let broken = false;
      try {
        await client.query('BEGIN');
        // One migrator at a time, across every service starting against this database.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`wf-migrations:${schema ?? 'public'}`]);
        if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
        const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
        const current = rows[0]?.v ?? 0;
        for (const [index, sql] of MIGRATIONS.entries()) {
          if (index + 1 <= current) continue;
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [index + 1]);
          options.logger?.info({ version: index + 1 }, 'applied migration');
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw toStoreError(err);
      } finally {
        client.release(broken);
      }
    },
    async now() {
      const { rows } = await query<{ now: Date }>(pool, `SELECT ${NOW} AS now`);
      return rows[0]!.now;
    },
    async ping() {
      await query(pool, 'SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
