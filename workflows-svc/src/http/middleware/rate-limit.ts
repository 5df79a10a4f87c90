import { RateLimitedError, type Logger } from '@wf/shared';
import type { Request, RequestHandler } from 'express';
import { rateLimit, type AugmentedRequest } from 'express-rate-limit';
import type { RateLimit } from '../../config.js';

export interface LimiterOptions {
  limit: RateLimit;
  logger: Logger;
  /** The client to count against; undefined skips the request. Default: the client address. */
  key?: (req: Request) => string | undefined;
  /** Count only failed requests (status ≥ 400), e.g. failed logins. */
  failuresOnly?: boolean;
}

const pass: RequestHandler = (_req, _res, next) => next();

function retryAfterSeconds(req: Request): number {
  const resetTime = (req as AugmentedRequest)['rateLimit']?.resetTime;
  return resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 1;
}

/**
 * A fixed-window limiter (express-rate-limit, counters in this process's memory: with
 * several instances behind a balancer each one counts on its own). Refusals go through the
 * error handler as `RateLimitedError`, i.e. 429 with `Retry-After`.
 */
export function limiter({ limit, logger, key, failuresOnly = false }: LimiterOptions): RequestHandler {
  if (limit.limit === 0) return pass;
  return rateLimit({
    windowMs: limit.windowMs,
    limit: limit.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: failuresOnly,
    ...(key ? { keyGenerator: (req: Request) => key(req) ?? '', skip: (req: Request) => key(req) === undefined } : {}),
    handler: (req, _res, next) => next(new RateLimitedError(retryAfterSeconds(req))),
    logger: {
      error: (err, message) => logger.error({ err }, message ?? 'rate limiter error'),
      warn: (err, message) => logger.warn({ err }, message ?? 'rate limiter warning'),
    },
  });
}
