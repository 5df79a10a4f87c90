import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../logger.js';
import { isConnectionError, toStoreError } from './errors.js';

export interface PoolOptions {
  url: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Sets `search_path` on every connection. */
  schema?: string;
  logger?: Logger;
}

/** How long taking a new connection may wait before the request fails as unavailable (a 503). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The connection pool, made safe against a database that goes away. pg emits `error` on a
 * client whose connection breaks (the server crashed or was restarted, the socket was reset);
 * pg-pool listens only while the client is idle, so a client checked out for a transaction
 * would turn that event into an uncaught exception and end the process. Every client gets a
 * listener of its own for its whole life: the query in flight fails anyway (and maps to
 * `UnavailableError`), and the pool discards the broken client when it is released.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const { logger } = options;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Notices a peer that vanished without closing the socket (a host down, a dropped route).
    keepAlive: true,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const lost = (err: unknown, where: string) => {
    // Logged at debug: the outage itself is reported once by whoever sees the failed query.
    if (isConnectionError(err)) logger?.debug({ err }, `PostgreSQL connection lost (${where})`);
    else logger?.warn({ err }, `PostgreSQL client error (${where})`);
  };
  pool.on('error', (err) => lost(err, 'idle client'));
  pool.on('connect', (client) => client.on('error', (err) => lost(err, 'client in use')));
  return pool;
}

/** Anything that runs a query: the pool, or one client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/**
 * Every query here is a constant text, so each is a named prepared statement: each pooled
 * connection parses and plans it once, then only binds and executes it.
 */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `wf_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

export async function query<R extends pg.QueryResultRow>(db: Queryable, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>({ name: statementName(text), text, values });
  } catch (err) {
    // A later migration changed a table under a statement this connection prepared earlier
    // (a rolling upgrade); outside a transaction, the statement unprepared still works.
    if ((err as { code?: string }).code === '0A000' && db instanceof pg.Pool) {
      return db.query<R>(text, values).catch((retryErr: unknown) => {
        throw toStoreError(retryErr);
      });
    }
    throw toStoreError(err);
  }
}

export const json = (v: unknown) => JSON.stringify(v);

/**
 * Store time (see ports/repos.ts): the database's clock at the start of the statement, to the
 * millisecond like the other stores. Stable within a statement, so the claims' range
 * conditions on it still use their indexes (clock_timestamp() is volatile and would not).
 */
export const NOW = `date_trunc('milliseconds', statement_timestamp())`;
/** Store time plus the milliseconds in parameter `param` (`-$1`: minus them). */
export const NOW_PLUS = (param: string) => `(${NOW} + ${param}::double precision * interval '1 millisecond')`;

/** What a repository is given: where its queries go (the pool, or a transaction's client) and the store's bounds. */
export interface PostgresContext {
  db: Queryable;
  maxStepOutputBytes: number;
}

/** Adds `key: value` only when the value is present, so absent fields stay absent (as in memory). */
export const opt = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
export const date = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso));
