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
