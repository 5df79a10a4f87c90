import type { Execution } from '../domain/execution.js';
import { ValidationError } from '../errors.js';
import type { Page } from '../ports/repos.js';

// Every store pages alike, so a cursor means the same thing, and is refused alike, in each.

const invalidCursor = () => new ValidationError('invalid cursor', [{ path: 'cursor', message: 'is not a cursor this API returned' }]);

/** Page cursors are opaque to clients: base64url of the sort key of the last item. */
export const encodeCursor = (sortKey: string): string => Buffer.from(sortKey, 'utf8').toString('base64url');

export function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!decoded || encodeCursor(decoded) !== cursor) throw invalidCursor();
  return decoded;
}

/**
 * One page from the rows that follow the cursor, in page order (a store reads `limit + 1`):
 * the first `limit`, and a cursor after the last of them when more follow.
 */
export function toPage<T>(rows: readonly T[], limit: number, sortKey: (item: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return rows.length > limit && last ? { items, nextCursor: encodeCursor(sortKey(last)) } : { items };
}

/** Executions page newest first by (createdAt, executionId); as strings, these keys sort in that order. */
export const executionSortKey = ({ createdAt, executionId }: Pick<Execution, 'createdAt' | 'executionId'>): string =>
  `${String(createdAt.getTime()).padStart(15, '0')}:${executionId}`;

/** Where an execution cursor points. */
export function decodeExecutionCursor(cursor: string): Pick<Execution, 'createdAt' | 'executionId'> {
  const key = decodeCursor(cursor);
  const separator = key.indexOf(':');
  const ms = Number(key.slice(0, separator));
  if (separator < 1 || !Number.isSafeInteger(ms)) throw invalidCursor();
  return { createdAt: new Date(ms), executionId: key.slice(separator + 1) };
}
