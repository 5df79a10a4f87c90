import { randomUUID } from 'node:crypto';
import type { Logger } from '@wf/shared';
import type { Request, RequestHandler } from 'express';
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
 *
 * `req.log` is made on a request's first log line (see `requestLoggers`), and the access line
 * is not even put together when its level is off: at `LOG_LEVEL=warn` most requests log
 * nothing, and a child logger per request was a measurable part of serving one.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    req.requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    if (!logger.isLevelEnabled('info')) return next();

    // A response emits close after finish, and alone when the client went away first.
    res.once('close', () => {
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
    });
    next();
  };
}

/**
 * Makes `req.log` of the app's requests the service logger bound to the request's id,
 * created when first read and then kept on the request.
 */
export function requestLoggers(request: Request, logger: Logger): void {
  Object.defineProperty(request, 'log', {
    configurable: true,
    get(this: Request) {
      const log = logger.child({ requestId: this.requestId });
      Object.defineProperty(this, 'log', { value: log, configurable: true, writable: true });
      return log;
    },
  });
}
