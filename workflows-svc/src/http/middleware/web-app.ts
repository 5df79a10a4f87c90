import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type Response } from 'express';
import { notFound } from './error-handler.js';

/**
 * The dashboard's own pages may load only this origin's scripts, styles and data: no inline
 * script, no eval, no framing. An injected `<script>` or `on…=` attribute does not run.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function secure(res: Response): void {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
}

/** Whether `dir` holds a built dashboard. */
export const isDashboardBuild = (dir: string): boolean => existsSync(join(dir, 'index.html'));

/**
 * Serves the built dashboard from `dir`: files under `/assets/` carry a content hash in their
 * name, so browsers keep them for a year; `index.html` must be revalidated every time, so a
 * new build is picked up at once. A page navigation (a GET that prefers HTML) to any other
 * path gets `index.html`, for the client-side routes; API clients (JSON or any type) pass on.
 */
export function webApp(dir: string): Router {
  const router = Router();
  router.use(
    express.static(dir, {
      index: false,
      redirect: false,
      setHeaders(res, path) {
        secure(res);
        res.setHeader('Cache-Control', path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  // An asset of another build is gone, not a page nor an API route.
  router.use('/assets', notFound);
  router.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.accepts(['json', 'html']) !== 'html') return next();
    secure(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(join(dir, 'index.html'), (err) => err && next(err));
  });
  return router;
}
