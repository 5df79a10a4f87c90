import type { Logger } from '@wf/shared';

/** What the middleware attaches to every request. */
declare module 'express-serve-static-core' {
  interface Request {
    /** From a sane incoming `X-Request-Id`, else a fresh uuid; echoed in the response. */
    requestId: string;
    /** The service logger bound to this request's id. */
    log: Logger;
    /** Set by `authenticate` once the bearer token checks out. */
    userId?: string;
  }
}
