import { ExecutionStatusSchema, WorkflowIdSchema, parseOrThrow, type RunFilter } from '@wf/shared';
import { Router } from 'express';
import { z } from 'zod';
import { currentUserId } from '../middleware/authenticate.js';
import { PageQuerySchema } from '../request.js';
import { executionSummaryView } from '../views.js';
import type { RouteDeps } from './deps.js';

const RunsQuerySchema = PageQuerySchema.extend({
  workflowId: WorkflowIdSchema.optional(),
  /** `failed` or `failed,pending_retry`. */
  status: z
    .string()
    .max(200)
    .transform((v) => v.split(','))
    .pipe(z.array(ExecutionStatusSchema).min(1))
    .optional(),
  /** Created at or after. */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Created before. */
  to: z.iso.datetime({ offset: true }).optional(),
  /** The same as `from` and `to`, by the names the run-control API uses. */
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
}).refine((q) => !(q.from && q.since) && !(q.to && q.until), 'give `from` or `since`, `to` or `until`, not both');

/** `GET /executions`: the caller's runs across workflows, newest first, filtered; summaries like the per-workflow history. */
export function runRoutes({ useCases }: RouteDeps): Router {
  const router = Router();

  router.get('/executions', async (req, res) => {
    const { limit, cursor, workflowId, status, ...window } = parseOrThrow(RunsQuerySchema, req.query, 'query');
    const from = window.from ?? window.since;
    const to = window.to ?? window.until;
    const filter: RunFilter = {
      ...(workflowId === undefined ? {} : { workflowId }),
      ...(status === undefined ? {} : { statuses: status }),
      ...(from === undefined ? {} : { createdFrom: new Date(from) }),
      ...(to === undefined ? {} : { createdBefore: new Date(to) }),
    };
    const page = await useCases.listRuns.execute(currentUserId(req), filter, cursor === undefined ? { limit } : { limit, cursor });
    res.json({ items: page.items.map(executionSummaryView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  });

  return router;
}
