import { CronExpressionParser } from 'cron-parser';

/*
 * Cron expressions and time zones, in one place so that what validation accepts is
 * exactly what the scheduler runs: both go through `nextCronRun`.
 */

/** `minute hour day-of-month month day-of-week`, or the same led by a seconds field. */
const FIELD_COUNTS: readonly number[] = [5, 6];
const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);
/** cron-parser's `H` picks a random value on every parse: each due time would move. */
const HASHED_PART = /^H(?:$|[/(])/i;

/** The first time strictly after `after` that `expression` matches, in `timezone` (UTC when absent). Throws on a bad expression. */
export function nextCronRun(expression: string, timezone: string | undefined, after: Date): Date {
  return CronExpressionParser.parse(expression, { tz: timezone ?? 'UTC', currentDate: after }).next().toDate();
}

/** The last time at or before `at` that `expression` matches, in `timezone` (UTC when absent). Throws on a bad expression. */
export function previousCronRun(expression: string, timezone: string | undefined, at: Date): Date {
  // prev() is the last match strictly before its start: start 1 ms later to include `at` itself.
  return CronExpressionParser.parse(expression, { tz: timezone ?? 'UTC', currentDate: new Date(at.getTime() + 1) }).prev().toDate();
}

/** 5 fields, or 6 with seconds first, or one of the `@daily`-style names; never throws. */
export function isCronExpression(expression: string): boolean {
  const text = expression.trim();
  if (!MACROS.has(text)) {
    const fields = text.split(/\s+/);
    if (!FIELD_COUNTS.includes(fields.length)) return false;
    if (fields.some((field) => field.split(',').some((part) => HASHED_PART.test(part)))) return false;
  }
  try {
    nextCronRun(text, undefined, new Date(0));
    return true;
  } catch {
    return false;
  }
}

/** `Area/Location` (`Europe/Paris`, `America/Argentina/Buenos_Aires`, `Etc/GMT+5`) or a single name (`UTC`). */
const IANA_NAME = /^[A-Z][A-Za-z0-9_+-]*(?:\/[A-Z][A-Za-z0-9_+-]*)*$/;

/**
 * A name from the IANA time zone database that this runtime knows. Offsets (`UTC+5`,
 * `+05:00`) and `Local` (the server's zone, which would move with the deployment) are not.
 */
export function isIanaTimeZone(name: string): boolean {
  if (!IANA_NAME.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    nextCronRun('* * * * *', name, new Date(0));
    return true;
  } catch {
    return false;
  }
}
