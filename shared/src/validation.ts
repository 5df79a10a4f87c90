import type { z } from 'zod';
import { ValidationError, zodIssues } from './errors.js';

/** Parses `input` with `schema` or throws a `ValidationError` naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = zodIssues(result.error.issues);
  const fields = [...new Set(issues.map((i) => i.path))].join(', ');
  throw new ValidationError(`invalid ${what}: ${fields}`, issues);
}

/**
 * A zod refinement that answers false where `check` throws. A throw inside a refinement
 * escapes `safeParse` (an answer of 500 for bad input), and the libraries checks call
 * (`ms`, `new URL`, the cron parser) throw on input they dislike.
 */
export function holds<T>(check: (value: T) => boolean): (value: T) => boolean {
  return (value) => {
    try {
      return check(value);
    } catch {
      return false;
    }
  };
}
