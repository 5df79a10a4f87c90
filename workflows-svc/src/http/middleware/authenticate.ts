import { UnauthorizedError } from '@wf/shared';
import type { Request, RequestHandler } from 'express';
import type { AuthenticateUser } from '../../app/authenticate-user.js';
import type { ResumeSession } from '../../app/resume-session.js';
import { checkCsrf, sessionCookie } from '../session-cookie.js';
import '../context.js';

/** `Bearer <jwt>`; the token part is bounded so a huge header costs nothing to refuse. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*) *$/i;
const MAX_HEADER_LENGTH = 4096;

/**
 * Lets a request through only with a valid access token of an existing user or, failing an
 * `Authorization` header, a live dashboard session cookie; records who sent it.
 */
export function authenticate(authenticateUser: AuthenticateUser, sessions: ResumeSession): RequestHandler {
  const identify = async (req: Request): Promise<void> => {
    const header = req.get('authorization');
    const cookie = header === undefined ? sessionCookie(req) : undefined;
    if (cookie !== undefined) {
      req.userId = (await sessions.execute(cookie)).userId;
      checkCsrf(req);
      return;
    }
    const match = header !== undefined && header.length <= MAX_HEADER_LENGTH ? BEARER.exec(header) : null;
    if (!match?.[1]) throw new UnauthorizedError('a bearer token is required');
    req.userId = await authenticateUser.execute(match[1]);
  };
  return async (req, res, next) => {
    try {
      await identify(req);
    } catch (err) {
      // Every refusal (and a store that does not answer) says how to authenticate.
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw err;
    }
    next();
  };
}

/** The authenticated user; only reachable behind `authenticate`. */
export function currentUserId(req: { userId?: string }): string {
  if (!req.userId) throw new UnauthorizedError();
  return req.userId;
}
