import { Router } from 'express';
import { currentUserId } from '../middleware/authenticate.js';
import { executionIdParam, pageQuery, workflowIdParam } from '../request.js';
import { executionSummaryView, executionView } from '../views.js';
import type { RouteDeps } from './deps.js';

export function executionRoutes({ useCases }: RouteDeps): Router {
  const router = Router();

  router.get('/workflows/:workflowId/executions', async (req, res) => {
    const page = await useCases.listExecutions.execute(currentUserId(req), workflowIdParam(req), pageQuery(req));
    res.json({ items: page.items.map(executionSummaryView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
  });

  router.get('/executions/:executionId', async (req, res) => {
    res.json(executionView(await useCases.getExecution.execute(currentUserId(req), executionIdParam(req))));
  });

  return router;
}
