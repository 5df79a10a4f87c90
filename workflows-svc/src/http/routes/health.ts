import type { Store } from '@wf/shared';
import { healthResponse, type ReadinessCheck } from '@wf/shared/ops';
import { Router, type Response } from 'express';

export interface HealthDeps {
  store: Store;
  /** More dependencies the caller wants in readiness (the broker, start-up done, not stopping). */
  readiness?: ReadinessCheck;
}

/**
 * `/healthz`: the process answers. `/readyz`: the store (and `readiness`) answer too, else
 * 503. Same bodies as the other services' ops servers (shared `healthResponse`).
 */
export function healthRoutes({ store, readiness }: HealthDeps): Router {
  const router = Router();
  const options = { checks: { store: () => store.ping(), ...(readiness ? { readiness } : {}) } };
  const answer = async (path: string, res: Response) => {
    const response = await healthResponse(path, options);
    if (!response) throw new Error(`no health answer for ${path}`);
    res.status(response.status).type(response.contentType).set('Cache-Control', 'no-store').send(response.body);
  };
  router.get('/healthz', (_req, res) => answer('/healthz', res));
  router.get('/readyz', (_req, res) => answer('/readyz', res));
  return router;
}
