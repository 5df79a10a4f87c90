import mongoose from 'mongoose';
import { UnavailableError } from '../../errors.js';

const { mongo } = mongoose;

/** The unique index a write collided with: its name and key fields. */
export interface DuplicateKey {
  index: string;
  fields: string[];
}

/**
 * Reads an E11000: the fields from `keyPattern` (servers since 4.2), the index name from the
 * message ("... index: email_unique dup key: ..."). Undefined when `err` is something else.
 */
export function duplicateKey(err: unknown): DuplicateKey | undefined {
  if (!(err instanceof mongo.MongoServerError) || err.code !== 11000) return undefined;
  const pattern: unknown = err.keyPattern;
  return {
    index: /index: (\S+)/.exec(err.message)?.[1] ?? '',
    fields: pattern !== null && typeof pattern === 'object' ? Object.keys(pattern) : [],
  };
}

/** Does `dup` name this index (by name, or by its only key field)? */
export const collidedOn = (dup: DuplicateKey, index: string, field: string): boolean => dup.index === index || dup.fields.includes(field);

/** Runs a write; if it collides on a unique index, throws the error `conflict` builds for that index instead. */
export async function throwIfDuplicate<T>(write: () => Promise<T>, conflict: (dup: DuplicateKey) => Error): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const dup = duplicateKey(err);
    throw dup ? conflict(dup) : err;
  }
}

/** Labels of errors that only surface once the driver's own retry (or `withTransaction`'s loop) has given up. */
const UNAVAILABLE_LABELS = [
  'RetryableWriteError',
  'TransientTransactionError',
  // The commit may or may not have applied (a failover, a majority write concern timing out):
  // the caller cannot know, so it retries, with its idempotency key where it has one.
  'UnknownTransactionCommitResult',
] as const;

/**
 * Server error codes of a node that is shutting down, stepping down or not (yet) primary, and
 * of a server that lost its own connections: HostUnreachable 6, HostNotFound 7, NetworkTimeout
 * 89, ShutdownInProgress 91, PrimarySteppedDown 189, SocketException 9001, NotWritablePrimary
 * 10107, InterruptedAtShutdown 11600, InterruptedDueToReplStateChange 11602,
 * NotPrimaryNoSecondaryOk 13435, NotPrimaryOrSecondary 13436. Writes carry the
 * RetryableWriteError label for most of these, reads do not (the driver retries a read once,
 * then hands the server's error over as is).
 */
const STATE_CHANGE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

/** The database cannot be reached, is between primaries, or could not say whether it committed: a 503, safe to retry later. */
export function isUnavailable(err: unknown): boolean {
  return (
    err instanceof mongo.MongoNetworkError || // also timeouts and cleared pools (subclasses)
    err instanceof mongo.MongoServerSelectionError ||
    err instanceof mongo.MongoNotConnectedError ||
    err instanceof mongo.MongoTopologyClosedError ||
    err instanceof mongoose.Error.MongooseServerSelectionError || // the initial connection failed
    (err instanceof mongo.MongoError &&
      (UNAVAILABLE_LABELS.some((label) => err.hasErrorLabel(label)) || (typeof err.code === 'number' && STATE_CHANGE_CODES.has(err.code))))
  );
}

export async function unavailableOnError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw isUnavailable(err) ? new UnavailableError('the database is unreachable', err) : err;
  }
}

/** Wraps every method of `repo`: first `ready()`, then the method, both in `unavailableOnError`. */
export function guarded<T extends object>(repo: T, ready: () => Promise<unknown>): T {
  return Object.fromEntries(
    Object.entries(repo).map(([name, fn]) => [
      name,
      (...args: unknown[]) =>
        unavailableOnError(async () => {
          await ready();
          return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        }),
    ]),
  ) as T;
}
