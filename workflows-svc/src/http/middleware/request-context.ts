import { randomUUID } from 'node:crypto';
import type { Logger } from '@wf/shared';
import type { RequestHandler } from 'express';
import '../context.js';

/** An incoming id is reused only if it cannot break a log line or a header. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Paths go to the log without the query string and with a hook secret in the path
 * (`/hooks/:hookId/:secret`) replaced: the log must never hold a secret.
 */
export function loggablePath(originalUrl: string): string {
  const path = originalUrl.split('?', 1)[0] ?? '';
  return path.replace(/^(\/hooks\/[^/]*)\/.+$/, '$1/[redacted]').slice(0, 512);
}

/**
 * Gives every request an id (header `X-Request-Id`, and on every log line through
 * `req.log`) and writes one access-log line when the response ends or the client goes
 * away. Bodies, headers and the query string are never logged.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    req.requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.log = logger.child({ requestId: req.requestId });
    res.setHeader('X-Request-Id', req.requestId);

    let logged = false;
    const accessLog = () => {
      if (logged) return;
      logged = true;
      req.log.info(
        {
          method: req.method,
          path: loggablePath(req.originalUrl),
          status: res.statusCode,
          durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
          ...(req.userId ? { userId: req.userId } : {}),
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    };
    res.once('finish', accessLog);
    res.once('close', accessLog);
    next();
  };
}
