import pg from 'pg';
import type { Logger } from '../../logger.js';
import { isConnectionError } from './errors.js';

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
