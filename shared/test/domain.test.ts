import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActionSchema, IntervalSchema, TriggerSpecSchema, decodeEvent, dueSlot, isCronExpression, isIanaTimeZone, makeEvent, MISFIRE_THRESHOLD_MS, nextRunAfter, retryDelayMs } from '../src/index.js';

describe('retryDelayMs', () => {
  const policy = { maxRetries: 5, baseDelayMs: 1_000, maxDelayMs: 10_000 };
  it('doubles per attempt from the base, within [half, full] of the nominal delay', () => {
    assert.equal(retryDelayMs(policy, 1, () => 1), 1_000);
    assert.equal(retryDelayMs(policy, 1, () => 0), 500);
    assert.equal(retryDelayMs(policy, 2, () => 1), 2_000);
    assert.equal(retryDelayMs(policy, 3, () => 1), 4_000);
  });
  it('is capped at maxDelayMs however many attempts', () => {
    assert.equal(retryDelayMs(policy, 5, () => 1), 10_000);
    assert.equal(retryDelayMs(policy, 500, () => 1), 10_000);
  });
});

describe('nextRunAfter', () => {
  const every10s = { type: 'periodic' as const, interval: '10s' };
  it('starts one interval after creation', () => {
    assert.equal(nextRunAfter(every10s, new Date('2026-01-01T00:00:00Z'))?.toISOString(), '2026-01-01T00:00:10.000Z');
  });
  it('moves to the next due time after the anchor, skipping runs missed while the scheduler was down', () => {
    const anchor = new Date('2026-01-01T00:00:10Z');
    assert.equal(nextRunAfter(every10s, new Date('2026-01-01T00:00:10.300Z'), anchor)?.toISOString(), '2026-01-01T00:00:20.000Z');
    assert.equal(nextRunAfter(every10s, new Date('2026-01-01T00:01:45Z'), anchor)?.toISOString(), '2026-01-01T00:01:50.000Z');
  });
  it('follows a cron expression, in a time zone', () => {
    const cron = { type: 'cron' as const, cron: '30 9 * * 1-5', timezone: 'Europe/Paris' };
    // Friday 2026-01-02 10:00 Paris → next is Monday 2026-01-05 09:30 Paris (08:30 UTC).
    assert.equal(nextRunAfter(cron, new Date('2026-01-02T09:00:00Z'))?.toISOString(), '2026-01-05T08:30:00.000Z');
  });
  it('is undefined for triggers that are not scheduled', () => {
    assert.equal(nextRunAfter({ type: 'manual' }, new Date()), undefined);
  });
  it('runs 6-field expressions to the second, in UTC unless a time zone is given', () => {
    const everyTenSeconds = { type: 'cron' as const, cron: '*/10 * * * * *' };
    assert.equal(nextRunAfter(everyTenSeconds, new Date('2026-01-01T00:00:01Z'))?.toISOString(), '2026-01-01T00:00:10.000Z');
    assert.equal(nextRunAfter({ type: 'cron', cron: '0 9 * * *' }, new Date('2026-01-01T00:00:00Z'))?.toISOString(), '2026-01-01T09:00:00.000Z');
  });
});

describe('dueSlot: what a late scheduler runs', () => {
  const iso = (d: Date | undefined) => d?.toISOString();
  const at = (s: string) => new Date(s);

  it('runs the due time itself when on time or late by at most the misfire threshold', () => {
    const hourly = { type: 'periodic', interval: '1h' } as const;
    const dueAt = at('2026-01-01T01:00:00Z');
    for (const late of [0, 20, MISFIRE_THRESHOLD_MS]) {
      const slot = dueSlot(hourly, dueAt, new Date(dueAt.getTime() + late));
      assert.deepEqual([iso(slot.runFor), slot.skippedEarlier, iso(slot.next)], ['2026-01-01T01:00:00.000Z', false, '2026-01-01T02:00:00.000Z'], `late by ${late} ms`);
    }
  });

  it('past the threshold: nothing with catchUp none (or unset), the latest passed due time with catchUp latest', () => {
    const dueAt = at('2026-01-01T01:00:00Z');
    const now = at('2026-01-01T03:01:00.001Z'); // 01:00, 02:00, 03:00 passed; 03:00 by 60.001 s
    const none = dueSlot({ type: 'periodic', interval: '1h' }, dueAt, now);
    assert.deepEqual([none.runFor, iso(none.latest), none.skippedEarlier, iso(none.next)], [undefined, '2026-01-01T03:00:00.000Z', true, '2026-01-01T04:00:00.000Z']);
    const latest = dueSlot({ type: 'periodic', interval: '1h', catchUp: 'latest' }, dueAt, now);
    assert.equal(iso(latest.runFor), '2026-01-01T03:00:00.000Z');
  });

  it('a short interval after a long outage runs the latest due time, which is on time', () => {
    const slot = dueSlot({ type: 'periodic', interval: '10s' }, at('2026-01-01T00:00:10Z'), at('2026-01-01T00:05:03Z'));
    assert.deepEqual([iso(slot.runFor), slot.skippedEarlier, iso(slot.next)], ['2026-01-01T00:05:00.000Z', true, '2026-01-01T00:05:10.000Z']);
  });

  it('cron: the latest occurrence at or before now, in the time zone', () => {
    const daily = { type: 'cron', cron: '30 8 * * *', timezone: 'Europe/Paris', catchUp: 'latest' } as const; // 07:30Z in winter
    const slot = dueSlot(daily, at('2026-01-05T07:30:00Z'), at('2026-01-08T07:30:00Z'));
    assert.deepEqual([iso(slot.runFor), iso(slot.next)], ['2026-01-08T07:30:00.000Z', '2026-01-09T07:30:00.000Z'], 'an occurrence exactly at now counts');
    const before = dueSlot(daily, at('2026-01-05T07:30:00Z'), at('2026-01-08T07:29:59.999Z'));
    assert.equal(iso(before.runFor), '2026-01-07T07:30:00.000Z');
  });
});

describe('cron expressions and time zones', () => {
  it('accepts 5 fields, 6 with seconds first, and the @daily-style names; nothing else', () => {
    for (const ok of ['*/5 * * * *', '0 30 9 * * 1-5', '0 0 L * *', '@daily', '0 0 * JAN MON,THU']) assert.equal(isCronExpression(ok), true, ok);
    for (const bad of ['', 'every tuesday', '* * * *', '0 0 0 * * * *', '99 * * * *', '*/0 * * * *', '0 0 31 2 *', 'H * * * *', '0 H/2 * * *', '@reboot']) {
      assert.equal(isCronExpression(bad), false, bad);
    }
  });
  it('accepts IANA names only: no offsets, no "Local"', () => {
    for (const ok of ['UTC', 'Etc/UTC', 'Europe/Paris', 'Asia/Kolkata', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) assert.equal(isIanaTimeZone(ok), true, ok);
    for (const bad of ['Local', 'UTC+5', '+05:00', 'Mars/Olympus', 'europe/paris', '', 'Europe/Paris\n']) assert.equal(isIanaTimeZone(bad), false, bad);
  });
});

describe('trigger and action schemas', () => {
  const issues = (schema: { safeParse(v: unknown): { error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, input: unknown) =>
    schema.safeParse(input).error?.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);

  it('answers bad input with issues, never a throw from the libraries they call', () => {
    for (const interval of ['', ' ', '0s', '10 days', 'x'.repeat(100)]) assert.equal(IntervalSchema.safeParse(interval).success, false, interval);
    assert.deepEqual(issues(TriggerSpecSchema, { type: 'cron', cron: '99 * * * *', timezone: 'UTC+5' }), [
      'cron: must be a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "*/5 * * * *"',
      'timezone: must be an IANA time zone name, e.g. "Europe/Paris" or "UTC"',
    ]);
  });

  it('refuses header values with CR, LF or other control characters', () => {
    const action = (value: string) => ({ type: 'http-request', url: 'https://example.com', method: 'GET', headers: { 'x-api-key': value } });
    assert.equal(ActionSchema.safeParse(action('a\tb')).success, true);
    for (const bad of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\u0000b', 'a\u007fb']) {
      assert.deepEqual(issues(ActionSchema, action(bad)), ['headers.x-api-key: must not contain line breaks or control characters'], JSON.stringify(bad));
    }
  });
});

describe('event envelopes', () => {
  it('round-trips a valid event and refuses invalid ones with a reason', () => {
    const event = makeEvent('ExecutionRequested', { executionId: 'e', workflowId: 'w', ownerId: 'o', attempt: 1 }, 'id-1', new Date(0));
    const ok = decodeEvent(JSON.stringify(event));
    assert.deepEqual(ok, { ok: true, event });
    assert.deepEqual(decodeEvent('{not json'), { ok: false, reason: 'value is not JSON' });
    const bad = decodeEvent(JSON.stringify({ ...event, data: { ...event.data, attempt: 0 } }));
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.reason, /data\.attempt/);
  });

  it('tells a scheduled retry, with its time, from a final failure', () => {
    const data = { executionId: 'e', workflowId: 'w', ownerId: 'o', attempt: 1, status: 'pending_retry' as const, finishedAt: new Date(0).toISOString() };
    const retry = makeEvent('ExecutionRetryScheduled', { ...data, nextAttemptAt: new Date(1_000).toISOString() }, 'id-2', new Date(0));
    assert.deepEqual(decodeEvent(JSON.stringify(retry)), { ok: true, event: retry });
    const undated = decodeEvent(JSON.stringify({ ...retry, data }));
    assert.match(undated.ok ? '' : undated.reason, /data\.nextAttemptAt/);
  });

  it('says when a run parked at a delay resumes', () => {
    const data = { executionId: 'e', workflowId: 'w', ownerId: 'o', attempt: 1, status: 'waiting' as const, finishedAt: new Date(0).toISOString() };
    const waiting = makeEvent('ExecutionWaiting', { ...data, resumeAt: new Date(60_000).toISOString() }, 'id-3', new Date(0));
    assert.deepEqual(decodeEvent(JSON.stringify(waiting)), { ok: true, event: waiting });
    const undated = decodeEvent(JSON.stringify({ ...waiting, data }));
    assert.match(undated.ok ? '' : undated.reason, /data\.resumeAt/);
  });
});
