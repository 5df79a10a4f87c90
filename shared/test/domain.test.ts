import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateWorkflowSchema, decodeEvent, makeEvent, nextRunAfter, retryDelayMs, validateCron } from '../src/index.js';

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
  it('validateCron rejects nonsense', () => {
    assert.throws(() => validateCron('every tuesday'));
    assert.throws(() => validateCron('* * * * *', 'Mars/Olympus'));
    assert.doesNotThrow(() => validateCron('*/5 * * * *'));
  });
});

describe('workflow schema', () => {
  it("accepts the seed's payload verbatim", () => {
    const seed = JSON.parse('{"workflowId":"recurrent-workflow","trigger":{"type":"periodic","interval":"10s"},"actions":[{"type":"http-request","url":"https://google.com","method":"GET"}]}');
    assert.equal(CreateWorkflowSchema.safeParse(seed).success, true);
  });
  it('rejects unknown fields, bad intervals and bad workflow ids, naming the field', () => {
    const base = { workflowId: 'w', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] };
    const paths = (input: unknown) => CreateWorkflowSchema.safeParse(input).error?.issues.map((i) => i.path.join('.'));
    assert.deepEqual(paths({ ...base, extra: 1 }), ['']);
    assert.deepEqual(paths({ ...base, trigger: { type: 'periodic', interval: '10 days' } }), ['trigger.interval']);
    assert.deepEqual(paths({ ...base, workflowId: '../etc' }), ['workflowId']);
    assert.deepEqual(paths({ ...base, actions: [{ type: 'http-request', url: 'ftp://x', method: 'GET' }] }), ['actions.0.url']);
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
});
