/*
 * User JSON (trigger payloads, step outputs, action lists with their HTTP headers and bodies)
 * as the durable stores keep it: JSON text, so that any JSON value comes back exactly, key
 * order included. As BSON, `{ "$ref": …, "$id": … }` comes back as a DBRef, a name holding NUL
 * is refused, and names with "." or a leading "$" are misread by update operators and tools;
 * PostgreSQL's jsonb refuses "\u0000" anywhere and reorders keys. None of these values is ever
 * queried, so text costs nothing. A stored value that is not a string was written before this
 * encoding and is read as it is: payloads, outputs and action lists were always objects or arrays.
 */

export const encodeUserJson = (value: unknown): string => JSON.stringify(value);

export const decodeUserJson = <T>(stored: unknown): T => (typeof stored === 'string' ? JSON.parse(stored) : stored) as T;
