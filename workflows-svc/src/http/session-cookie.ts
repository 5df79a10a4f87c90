import { AppError } from '@wf/shared';
import type { Request, Response } from 'express';

/**
 * The dashboard's session lives in an HttpOnly, SameSite=Strict cookie: no script in the
 * page can read it, and no other site's page can send it. Requests that change something
 * must also carry `X-WF-CSRF: 1`, a header no cross-origin page can set without a CORS
 * preflight this API never grants (defence in depth for same-site, other-origin pages).
 */
export const SESSION_COOKIE = 'wf_session';
/**
 * Beside it, readable by the page and worth nothing: "a session was started here", so the
 * dashboard asks who is signed in only when someone may be (no 401 on every visit).
 */
export const SIGNED_IN_COOKIE = 'wf_signed_in';
export const CSRF_HEADER = 'x-wf-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const MAX_COOKIE_HEADER = 8192;

/** The session token the browser sent, if any. */
export function sessionCookie(req: Request): string | undefined {
  const header = req.get('cookie');
  if (header === undefined || header.length > MAX_COOKIE_HEADER) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, secure: req.secure, path: '/' });

export function setSessionCookie(req: Request, res: Response, token: string, expiresInSeconds: number): void {
  res.cookie(SESSION_COOKIE, token, { ...cookieOptions(req), maxAge: expiresInSeconds * 1000 });
  res.cookie(SIGNED_IN_COOKIE, '1', { ...cookieOptions(req), httpOnly: false, maxAge: expiresInSeconds * 1000 });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
  res.clearCookie(SIGNED_IN_COOKIE, { ...cookieOptions(req), httpOnly: false });
}

/** Refuses a cookie-authenticated request that changes something without the CSRF header. */
export function checkCsrf(req: Request): void {
  if (SAFE_METHODS.has(req.method) || req.get(CSRF_HEADER) === '1') return;
  throw new AppError(403, 'csrf_header_missing', `a request authenticated by the session cookie must carry ${CSRF_HEADER}: 1`);
}
