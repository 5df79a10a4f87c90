import { ValidationError, WorkflowIdSchema, parseOrThrow, type PageRequest } from '@wf/shared';
import type { Request } from 'express';
import { z } from 'zod';
import type { WorkflowsConfig } from '../config.js';

/**
 * Readers of the parts of a request that are not the body; each names the bad part in a 400.
 * Their schemas are built once: a zod object schema compiles its parser on first use, which
 * made a schema built per request the largest cost of reading a path parameter.
 */

const WorkflowIdParams = z.object({ workflowId: WorkflowIdSchema });

export function workflowIdParam(req: Request): string {
  return parseOrThrow(WorkflowIdParams, { workflowId: req.params.workflowId }, 'path').workflowId;
}

const ExecutionIdSchema = z.string().min(1).max(100).regex(/^[A-Za-z0-9_-]+$/, 'is not an execution id');
const ExecutionIdParams = z.object({ executionId: ExecutionIdSchema });

export function executionIdParam(req: Request): string {
  return parseOrThrow(ExecutionIdParams, { executionId: req.params.executionId }, 'path').executionId;
}

export const PageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
});

export function pageQuery(req: Request): PageRequest {
  const { limit, cursor } = parseOrThrow(PageQuerySchema, req.query, 'query');
  return cursor === undefined ? { limit } : { limit, cursor };
}

const headerError = (name: string, message: string) => new ValidationError(`invalid header: ${name}`, [{ path: name, message }]);

/** `If-Match: 3`, `"3"` or `W/"3"` (the ETag we send); `*` or no header means "any version". */
export function expectedVersion(req: Request): number | undefined {
  const value = req.get('if-match');
  if (value === undefined || value.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?([1-9][0-9]{0,14})"?\s*$/.exec(value);
  if (!match?.[1]) throw headerError('If-Match', 'must be a workflow version, e.g. "3"');
  return Number(match[1]);
}

export const etag = (version: number): string => `"${version}"`;

/** 1..200 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,200}$/;

export function idempotencyKey(req: Request): string | undefined {
  const value = req.get('idempotency-key');
  if (value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(value)) throw headerError('Idempotency-Key', 'must be 1 to 200 printable ASCII characters');
  return value;
}

/** Where clients reach this API: the configured public URL, else the origin the request used. */
export function publicOrigin(req: Request, config: WorkflowsConfig): string {
  return config.publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}
