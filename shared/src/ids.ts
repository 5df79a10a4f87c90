import { randomBytes, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

/** An unguessable token (256 bits), URL-safe. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** A short public identifier (128 bits), URL-safe. */
export const newPublicId = (): string => randomBytes(16).toString('base64url');
