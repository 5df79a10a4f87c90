import { Router } from 'express';
import { currentUserId } from '../middleware/authenticate.js';
import { clearSessionCookie } from '../session-cookie.js';
import type { RouteDeps } from './deps.js';

/** The dashboard's session once signed in (`POST /auth/session` starts one, beside login). */
export function sessionRoutes({ useCases }: RouteDeps): Router {
  const router = Router();

  router.get('/auth/session', async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await useCases.getCurrentUser.execute(currentUserId(req)));
  });

  /** Logout: revoked in the store, so the cookie is dead everywhere even if a copy of it survives. */
  router.delete('/auth/session', async (req, res) => {
    await useCases.endSessions.execute(currentUserId(req));
    clearSessionCookie(req, res);
    res.status(204).end();
  });

  return router;
}
