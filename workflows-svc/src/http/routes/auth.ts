import { parseOrThrow } from '@wf/shared';
import { Router, type Request } from 'express';
import { limiter } from '../middleware/rate-limit.js';
import { LoginBody, SignupBody } from '../schemas/requests.js';
import type { RouteDeps } from './deps.js';

/** The email a login is for, normalized like `LoginSchema` does; none skips the per-email limit. */
function loginEmail(req: Request): string | undefined {
  const email: unknown = (req.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.length <= 254 ? `email:${email.trim().toLowerCase()}` : undefined;
}

export function authRoutes({ useCases, config, logger }: RouteDeps): Router {
  const router = Router();
  // Only failed logins count: a user who keeps logging in successfully is never locked out,
  // while guessing at one account (per email) or at many (per address) is slowed down.
  const perIp = limiter({ limit: config.rateLimits.loginPerIp, logger, failuresOnly: true });
  const perEmail = limiter({ limit: config.rateLimits.loginPerEmail, logger, key: loginEmail, failuresOnly: true });

  router.post('/auth/signup', async (req, res) => {
    const result = await useCases.signUp.execute(parseOrThrow(SignupBody, req.body));
    res.status(201).set('Cache-Control', 'no-store').json(result);
  });

  router.post('/auth/login', perIp, perEmail, async (req, res) => {
    const { token, expiresIn } = await useCases.logIn.execute(parseOrThrow(LoginBody, req.body));
    res.set('Cache-Control', 'no-store').json({ token, expiresIn });
  });

  return router;
}
