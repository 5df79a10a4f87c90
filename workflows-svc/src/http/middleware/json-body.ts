import { PayloadTooLargeError, ValidationError, type AppError } from '@wf/shared';
import express, { type Request, type RequestHandler } from 'express';
import { BadRequestError, InvalidJsonError, UnsupportedMediaTypeError } from '../errors.js';

export const BODY_LIMIT = '1mb';
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Deeper than any real definition or payload, and well inside what the stores can nest
 * (MongoDB stops at 100 levels) and what the recursive code on the way (cloning, BSON)
 * handles without blowing the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Keys that would reach an object's prototype when some code later merges the body. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const hasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/**
 * What no store keeps faithfully: PostgreSQL refuses NUL in text and JSON and turns an
 * unpaired surrogate into U+FFFD, so such a string is refused here, for every store alike.
 */
// eslint-disable-next-line no-control-regex -- the NUL character is what it finds
const NUL = /\u0000/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function characterProblem(text: string): string | undefined {
  if (NUL.test(text)) return 'must not contain the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'must not contain an unpaired UTF-16 surrogate (e.g. \\ud800)';
  return undefined;
}

const unsafe = (path: string, message: string, code: string) =>
  new ValidationError(`invalid request body: ${path}`, [{ path, message, code }]);

/**
 * Checks a parsed body without recursion (a hostile body cannot overflow the stack here):
 * no prototype-pollution keys at any depth, nesting at most `MAX_JSON_DEPTH`, and no
 * string or key a store cannot keep (see `characterProblem`). Paths name the field.
 */
export function assertSafeJson(body: unknown): void {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: body, depth: 0, path: '' }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, depth, path } = item;
    if (typeof value === 'string') {
      const problem = characterProblem(value);
      if (problem) throw unsafe(path || '(root)', problem, 'invalid_character');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new ValidationError(`request body is nested deeper than ${MAX_JSON_DEPTH} levels`, [
        { path: path || '(root)', message: `nesting deeper than ${MAX_JSON_DEPTH} levels`, code: 'too_deep' },
      ]);
    }
    for (const key of Object.keys(value)) {
      // A bad key is not repeated in the answer: the path stops at its parent.
      const keyProblem = characterProblem(key);
      if (keyProblem) throw unsafe(path || '(root)', `has a key that ${keyProblem}`, 'invalid_character');
      const at = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) {
        throw new ValidationError(`request body contains the forbidden key "${key}"`, [{ path: at, message: 'forbidden key', code: 'forbidden_key' }]);
      }
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: at });
    }
  }
}

/** Turns body-parser's errors (`err.type`) into the API's error codes. */
function translate(err: unknown): AppError {
  const type = (err as { type?: unknown }).type;
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`request body is larger than ${BODY_LIMIT}`);
    case 'entity.parse.failed':
      return new InvalidJsonError('request body is not valid JSON (an object or an array)');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeError('unsupported charset or content encoding');
    default:
      return new BadRequestError('request body could not be read');
  }
}

/**
 * The only body parser: JSON up to 1 MB, objects and arrays only. A body of any other
 * type is refused with 415 rather than silently ignored (a form post to a JSON API is a
 * client bug worth surfacing).
 */
export function jsonBody(): RequestHandler {
  const parse = express.json({ limit: BODY_LIMIT, strict: true, type: JSON_TYPES });
  return (req, res, next) => {
    if (!hasBody(req)) return next();
    if (!req.is(JSON_TYPES)) return next(new UnsupportedMediaTypeError());
    parse(req, res, (err?: unknown) => {
      if (err) return next(translate(err));
      try {
        assertSafeJson(req.body);
      } catch (unsafe) {
        return next(unsafe);
      }
      next();
    });
  };
}
