import { WorkflowIdSchema, parseOrThrow } from '@wf/shared';
import { Router } from 'express';
import { z } from 'zod';
import { currentUserId } from '../middleware/authenticate.js';
import { recentRunView, windowStatsView } from '../views.js';
import type { RouteDeps } from './deps.js';

/** At most one page of the workflows table. */
const MAX_WORKFLOWS = 100;

const RecentRunsQuerySchema = z.strictObject({
  workflowIds: z
    .string()
    .max(MAX_WORKFLOWS * 65)
    .transform((v) => v.split(','))
    .pipe(z.array(WorkflowIdSchema).min(1).max(MAX_WORKFLOWS)),
});

const NoQuery = z.strictObject({});

/** The dashboard's aggregates: the overview, and the workflows table's outcome strips. */
export function statsRoutes({ useCases }: RouteDeps): Router {
  const router = Router();

  router.get('/stats', async (req, res) => {
    parseOrThrow(NoQuery, req.query, 'query');
    const { hour, day } = await useCases.getRunStats.execute(currentUserId(req));
    res.set('Cache-Control', 'no-store').json({ waitingForRetry: hour.waitingForRetry, hour: windowStatsView(hour), day: windowStatsView(day) });
  });

  router.get('/recent-runs', async (req, res) => {
    const { workflowIds } = parseOrThrow(RecentRunsQuerySchema, req.query, 'query');
    const recent = await useCases.getRecentRuns.execute(currentUserId(req), workflowIds);
    res.set('Cache-Control', 'no-store').json({ items: Object.fromEntries(Object.entries(recent).map(([id, runs]) => [id, runs.map(recentRunView)])) });
  });

  return router;
}
