/**
 * Operational errors: expected failures with a stable code and an HTTP status. Anything
 * that is not an AppError is a programmer error and surfaces as a 500 without details.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldIssue {
  path: string;
  message: string;
  code?: string;
}

export class ValidationError extends AppError {
  constructor(message: string, details?: FieldIssue[]) {
    super(400, 'validation_failed', message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'authentication required') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'forbidden') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'not found') {
    super(404, 'not_found', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown, code = 'conflict') {
    super(409, code, message, details);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'request body is too large') {
    super(413, 'payload_too_large', message);
  }
}

export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'too many requests',
  ) {
    super(429, 'rate_limited', message, { retryAfterSeconds });
  }
}

/** What a 503 tells a client to wait before it tries again (`Retry-After`). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** The store or the broker cannot be reached; safe to retry later (503 with `Retry-After`). */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds = UNAVAILABLE_RETRY_AFTER_SECONDS;
  constructor(message = 'service temporarily unavailable', override readonly cause?: unknown) {
    super(503, 'unavailable', message);
  }
}

/** An outbound request the `http-request` action was not allowed to make; retrying will not help. */
export class OutboundRequestRefusedError extends AppError {
  constructor(message: string) {
    super(422, 'outbound_refused', message);
  }
}

/** The response body of an HTTP error, as DESIGN.md defines it. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function toErrorBody(err: AppError): ErrorBody {
  return { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
}

/** Turns zod issues into field issues with dotted paths. */
export function zodIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; keys?: string[] }>): FieldIssue[] {
  return issues.flatMap((issue) => {
    // An unknown field is named by its own path, not its parent's.
    const paths = issue.code === 'unrecognized_keys' && issue.keys?.length ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    return paths.map((path) => ({
      path: path.map(String).join('.') || '(root)',
      message: issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message,
      ...(issue.code ? { code: issue.code } : {}),
    }));
  });
}
