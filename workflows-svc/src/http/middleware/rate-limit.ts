import { RateLimitedError, type Logger } from '@wf/shared';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type AugmentedRequest } from 'express-rate-limit';
import { slowDown } from 'express-slow-down';
import type { LoginSlowdown, RateLimit } from '../../config.js';

export interface LimiterOptions {
  limit: RateLimit;
  logger: Logger;
  /** The client to count against; undefined skips the request. Default: the client address. */
  key?: (req: Request) => string | undefined;
  /** Count only failed requests (status ≥ 400), e.g. failed logins. */
  failuresOnly?: boolean;
}

const pass: RequestHandler = (_req, _res, next) => next();

/**
 * The client's address: behind `TRUST_PROXY` hops, the one the proxies report (express's
 * `req.ip`), else the socket's. IPv6 addresses count by /56, as one client often holds a
 * whole block.
 */
export const clientAddress = (req: Request): string => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? '');

function retryAfterSeconds(req: Request): number {
  const resetTime = (req as AugmentedRequest)['rateLimit']?.resetTime;
  return resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 1;
}

const keyOptions = (key: LimiterOptions['key']) => ({
  keyGenerator: (req: Request) => (key ? (key(req) ?? '') : clientAddress(req)),
  ...(key ? { skip: (req: Request) => key(req) === undefined } : {}),
});

const limiterLogger = (logger: Logger) => ({
  error: (err: unknown, message?: string) => logger.error({ err }, message ?? 'rate limiter error'),
  warn: (err: unknown, message?: string) => logger.warn({ err }, message ?? 'rate limiter warning'),
});

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
    ...keyOptions(key),
    handler: (req, _res, next) => next(new RateLimitedError(retryAfterSeconds(req))),
    logger: limiterLogger(logger),
  });
}

/** Once `after` failures are counted, 250 ms, doubling with each further failure, at most `maxDelayMs`. */
export function slowdownDelayMs(failures: number, { after, maxDelayMs }: Pick<LoginSlowdown, 'after' | 'maxDelayMs'>): number {
  return failures < after ? 0 : Math.min(maxDelayMs, 250 * 2 ** Math.min(failures - after, 20));
}

/**
 * Delays (never refuses) requests of a key that failed more than `after` times in the
 * window: guessing gets slow, while the rightful client still gets in.
 */
export function failureSlowdown(options: LoginSlowdown, logger: Logger, key: (req: Request) => string | undefined): RequestHandler {
  if (options.after === 0) return pass;
  return slowDown({
    windowMs: options.windowMs,
    delayAfter: options.after,
    // `used` counts this request too.
    delayMs: (used: number) => slowdownDelayMs(used - 1, options),
    maxDelayMs: options.maxDelayMs,
    skipSuccessfulRequests: true,
    ...keyOptions(key),
    logger: limiterLogger(logger),
  });
}
