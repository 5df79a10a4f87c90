import { ConflictError, UnavailableError } from '../../errors.js';

/** The unique constraints a write can collide with, and the conflict code each means. */
const CONFLICT_CODES: Record<string, string> = {
  workflows_pkey: 'workflow_exists',
  workflows_hook_id_key: 'hook_conflict',
  users_email_key: 'email_taken',
  idempotency_keys_pkey: 'idempotency_conflict',
};

/** Socket-level failures (node's error codes) of a connection that could not be made or was lost. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

/**
 * SQLSTATEs of a server that is going away or not yet there: 57P01 admin_shutdown (also sent on
 * a postmaster crash: "terminating connection due to unexpected postmaster exit"), 57P02
 * crash_shutdown, 57P03 cannot_connect_now (starting up, in recovery), 53300
 * too_many_connections, 58030 io_error. Class 08 (connection exception) is matched whole.
 */
const SERVER_GONE = new Set(['57P01', '57P02', '57P03', '53300', '58030']);

/**
 * What pg and pg-pool say, without a code, when a connection dies or never comes: the socket
 * ended, a client already broken by an earlier error is used again, the pool or a query timed
 * out waiting.
 */
const LOST_CONNECTION_MESSAGES = [
  /Connection terminated/i, // "… unexpectedly", "… due to connection timeout"
  /Client has encountered a connection error and is not queryable/i,
  /Client was closed and is not queryable/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /terminating connection/i,
  /the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)/i,
];

/** True when `err` means the database cannot be reached right now (as opposed to refusing what was asked). */
export function isConnectionError(err: unknown): boolean {
  const error = err as { code?: unknown; message?: unknown } | null;
  const code = typeof error?.code === 'string' ? error.code : '';
  const message = typeof error?.message === 'string' ? error.message : '';
  return SOCKET_ERRORS.has(code) || SERVER_GONE.has(code) || code.startsWith('08') || LOST_CONNECTION_MESSAGES.some((m) => m.test(message));
}

/** Maps driver errors to the domain's: unique violations to conflicts, lost connections to 503. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof UnavailableError || err instanceof ConflictError) return err;
  const error = err as { code?: string; constraint?: string };
  if (error.code === '23505') {
    const code = CONFLICT_CODES[error.constraint ?? ''] ?? 'conflict';
    return new ConflictError(code === 'workflow_exists' ? 'workflow already exists' : code === 'email_taken' ? 'email is already registered' : `conflict on ${error.constraint}`, undefined, code);
  }
  if (isConnectionError(err)) return new UnavailableError('the database is unreachable', err);
  return err;
}
