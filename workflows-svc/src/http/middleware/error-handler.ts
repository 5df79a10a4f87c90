import { AppError, RateLimitedError, toErrorBody, UnavailableError, type ErrorBody } from '@wf/shared';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { BadRequestError } from '../errors.js';
import '../context.js';

const INTERNAL: ErrorBody = { error: { code: 'internal_error', message: 'internal error' } };

/** Errors the router raises itself (e.g. a path that is not valid percent-encoding). */
function clientHttpError(err: unknown): AppError | null {
  const status = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? new BadRequestError() : null;
}

/** Unknown routes: a JSON 404 like every other error. */
export const notFound: RequestHandler = (req) => {
  throw new AppError(404, 'not_found', `no route for ${req.method} ${req.path}`);
};

/**
 * The one place errors become responses. An `AppError` is an expected failure and says
 * what went wrong; anything else is a bug: logged with its stack, answered with a bare 500
 * that leaks nothing.
 */
export function errorHandler(): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      req.log.error({ err }, 'error after the response started');
      return next(err); // express ends the connection
    }
    const known = err instanceof AppError ? err : clientHttpError(err);
    if (!known) {
      req.log.error({ err }, 'unhandled error');
      res.status(500).json(INTERNAL);
      return;
    }
    if (known.status >= 500) req.log.warn({ err: known }, known.message);
    if (known instanceof RateLimitedError || known instanceof UnavailableError) res.setHeader('Retry-After', String(known.retryAfterSeconds));
    res.status(known.status).json(toErrorBody(known));
  };
}
