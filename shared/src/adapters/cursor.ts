import { ValidationError } from '../errors.js';

/** Page cursors are opaque to clients: base64url of the sort key of the last item. */
export const encodeCursor = (sortKey: string): string => Buffer.from(sortKey, 'utf8').toString('base64url');

export function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!decoded || encodeCursor(decoded) !== cursor) {
    throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'is not a cursor this API returned' }]);
  }
  return decoded;
}

/** The sort key of the newest-first run lists (createdAt, then executionId), shared by every store so a cursor means the same everywhere. */
export const executionSortKey = (e: { createdAt: Date; executionId: string }): string =>
  `${String(e.createdAt.getTime()).padStart(15, '0')}:${e.executionId}`;

/** The run a newest-first cursor points after; a 400 for anything this API did not hand out. */
export function parseExecutionCursor(cursor: string): { createdAt: Date; executionId: string } {
  const key = decodeCursor(cursor);
  const split = key.indexOf(':');
  const ms = Number(key.slice(0, split));
  if (split < 1 || !Number.isSafeInteger(ms)) {
    throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'is not a cursor this API returned' }]);
  }
  return { createdAt: new Date(ms), executionId: key.slice(split + 1) };
}
