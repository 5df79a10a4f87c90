import { normalizeEmail, parseOrThrow } from '@wf/shared';
import { Router, type Request } from 'express';
import { clientAddress, failureSlowdown, limiter } from '../middleware/rate-limit.js';
import { LoginBody, SignupBody } from '../schemas/requests.js';
import { setSessionCookie } from '../session-cookie.js';
import type { RouteDeps } from './deps.js';

/** The body's email as an identity (`normalizeEmail`, as the schema does), before validation; none skips per-email limits. */
function bodyEmail(req: Request): string | undefined {
  const email: unknown = (req.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.length <= 320 ? normalizeEmail(email) : undefined;
}

const perEmail = (prefix: string) => (req: Request) => {
  const email = bodyEmail(req);
  return email === undefined ? undefined : `${prefix}:${email}`;
};

export function authRoutes({ useCases, config, logger }: RouteDeps): Router {
  const router = Router();
  const limits = config.rateLimits;

  // Every signup attempt counts, per address and per email: signup answers whether an
  // email has an account (409), so probing it must stay slow (README, Security).
  const signupPerIp = limiter({ limit: limits.signupPerIp, logger });
  const signupPerEmail = limiter({ limit: limits.signupPerEmail, logger, key: perEmail('signup') });

  // Only failed logins count. Refusals are per address, and per email *from one address*,
  // so nobody can lock an owner out from elsewhere; failures at one email from anywhere
  // slow its attempts down instead. Ordered so that refused attempts do not add delay.
  const loginPerIp = limiter({ limit: limits.loginPerIp, logger, failuresOnly: true });
  const loginPerEmailAndIp = limiter({
    limit: limits.loginPerEmailAndIp,
    logger,
    key: (req) => {
      const email = bodyEmail(req);
      return email === undefined ? undefined : `login:${email}|${clientAddress(req)}`;
    },
    failuresOnly: true,
  });
  const loginSlowdown = failureSlowdown(config.loginSlowdown, logger, perEmail('login'));

  router.post('/auth/signup', signupPerIp, signupPerEmail, async (req, res) => {
    const result = await useCases.signUp.execute(parseOrThrow(SignupBody, req.body));
    res.status(201).set('Cache-Control', 'no-store').json(result);
  });

  router.post('/auth/login', loginPerIp, loginPerEmailAndIp, loginSlowdown, async (req, res) => {
    const { token, expiresIn } = await useCases.logIn.execute(parseOrThrow(LoginBody, req.body));
    res.set('Cache-Control', 'no-store').json({ token, expiresIn });
  });

  // The dashboard's login: the same credentials and limits; the token goes into an HttpOnly cookie, never into the page.
  router.post('/auth/session', loginPerIp, loginPerEmailAndIp, loginSlowdown, async (req, res) => {
    const { token, expiresIn, userId, email } = await useCases.startSession.execute(parseOrThrow(LoginBody, req.body));
    setSessionCookie(req, res, token, expiresIn);
    res.set('Cache-Control', 'no-store').json({ userId, email, expiresIn });
  });

  return router;
}
