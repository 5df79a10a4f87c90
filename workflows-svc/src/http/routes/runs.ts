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
});

/** `GET /executions`: the caller's runs across workflows, newest first, filtered; summaries like the per-workflow history. */
export function runRoutes({ useCases }: RouteDeps): Router {
  const router = Router();

  router.get('/executions', async (req, res) => {
    const { limit, cursor, workflowId, status, from, to } = parseOrThrow(RunsQuerySchema, req.query, 'query');
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
