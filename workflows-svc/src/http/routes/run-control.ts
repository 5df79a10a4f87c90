import { parseOrThrow } from '@wf/shared';
import { Router } from 'express';
import { currentUserId } from '../middleware/authenticate.js';
import { limiter } from '../middleware/rate-limit.js';
import { executionIdParam } from '../request.js';
import { RerunBody } from '../schemas/requests.js';
import { executionView } from '../views.js';
import type { RouteDeps } from './deps.js';

/** `POST /executions/:id/cancel` and `POST /executions/:id/retry`: stopping a run, and running it again. */
export function runControlRoutes(deps: RouteDeps): Router {
  const router = Router();
  const { useCases } = deps;
  // A re-run is a trigger: it spends the caller's trigger budget.
  const perUser = limiter({ limit: deps.config.rateLimits.triggerPerUser, logger: deps.logger, key: (req) => `user:${currentUserId(req)}` });

  router.post('/executions/:executionId/cancel', async (req, res) => {
    res.json(executionView(await useCases.cancelExecution.execute(currentUserId(req), executionIdParam(req))));
  });

  router.post('/executions/:executionId/retry', perUser, async (req, res) => {
    const executionId = executionIdParam(req);
    const { from } = req.body === undefined ? { from: undefined } : parseOrThrow(RerunBody, req.body, 'body');
    const run = await useCases.rerunExecution.execute(currentUserId(req), executionId, from ?? 'failed-step');
    res.location(`/executions/${run.executionId}`);
    res.status(202).json({ executionId: run.executionId, status: run.status });
  });

  return router;
}
