/**
 * How long an `Idempotency-Key` of a trigger request keeps answering with the run it first
 * created. workflows-svc reads keys within it; the stores expire keys past it.
 */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
