import { AppError } from '@wf/shared';

/** HTTP-only failures that have no counterpart in the domain's error classes. */

export class InvalidJsonError extends AppError {
  constructor(message = 'request body is not valid JSON') {
    super(400, 'invalid_json', message);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message = 'request body must be application/json') {
    super(415, 'unsupported_media_type', message);
  }
}

/** A malformed request the router or parser caught (bad URL encoding, aborted upload, …). */
export class BadRequestError extends AppError {
  constructor(message = 'bad request') {
    super(400, 'bad_request', message);
  }
}
