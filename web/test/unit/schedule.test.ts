import { describe, expect, it } from 'vitest';
import { attemptsAtMost, countdown, describeTrigger, formatDuration, relativeTime } from '../../src/lib/schedule';
import { placeholdersFor } from '../../src/lib/placeholders';
import { emptyHttp, emptyLog } from '../../src/lib/definition';

describe('schedule wording', () => {
  it('says what fires a workflow', () => {
    expect(describeTrigger({ type: 'periodic', interval: '10s' })).toBe('every 10 s');
    expect(describeTrigger({ type: 'periodic', interval: '5m' })).toBe('every 5 min');
    expect(describeTrigger({ type: 'periodic', interval: '1h' })).toBe('every 1 h');
    expect(describeTrigger({ type: 'cron', cron: '*/5 * * * *', timezone: 'Europe/Paris' })).toBe('cron */5 * * * * (Europe/Paris)');
    expect(describeTrigger({ type: 'cron', cron: '0 9 * * 1-5' })).toBe('cron 0 9 * * 1-5 (UTC)');
    expect(describeTrigger({ type: 'webhook' })).toBe('webhook');
    expect(describeTrigger({ type: 'manual' })).toBe('manual');
  });

  it('says when, relative to now', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    const at = (ms: number) => new Date(now.getTime() + ms);
    expect(relativeTime(at(4_200), now)).toBe('in 4 s');
    expect(relativeTime(at(-3 * 60_000), now)).toBe('3 min ago');
    expect(relativeTime(at(2 * 3_600_000 + 5), now)).toBe('in 2 h');
    expect(relativeTime(at(-3 * 86_400_000), now)).toBe('3 d ago');
    expect(relativeTime(at(300), now)).toBe('just now');
  });

  it('counts down to the next retry, and stops at zero', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(countdown(new Date(now.getTime() + 7_001), now)).toBe('0:08');
    expect(countdown(new Date(now.getTime() + 12 * 60_000 + 3_000), now)).toBe('12:03');
    expect(countdown(new Date(now.getTime() + 3_723_000), now)).toBe('1:02:03');
    expect(countdown(new Date(now.getTime() - 5_000), now)).toBe('0:00');
  });

  it('counts the attempts a run can still have, the retry it waits for included', () => {
    // maxRetries 3: four attempts in all, however far the run has gone.
    expect(attemptsAtMost({ attempt: 1, retriesLeft: 3, status: 'running' })).toBe(4);
    expect(attemptsAtMost({ attempt: 1, retriesLeft: 2, status: 'pending_retry' })).toBe(4);
    expect(attemptsAtMost({ attempt: 2, retriesLeft: 2, status: 'queued' })).toBe(4);
    expect(attemptsAtMost({ attempt: 3, retriesLeft: 1, status: 'completed' })).toBe(4);
    expect(attemptsAtMost({ attempt: 4, retriesLeft: 0, status: 'failed' })).toBe(4);
  });

  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(2_400)).toBe('2.4 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(7_800_000)).toBe('2 h 10 min');
  });
});

describe('placeholder hints', () => {
  it('offer the payload, the outputs of the earlier actions by their type, the run and the workflow', () => {
    const actions = [emptyLog(), emptyHttp(), emptyLog()];
    expect(placeholdersFor(actions, 0)).toEqual(['{{trigger.payload.<field>}}', '{{execution.id}}', '{{workflow.id}}']);
    expect(placeholdersFor(actions, 2)).toEqual([
      '{{trigger.payload.<field>}}',
      '{{steps.0.output.message}}',
      '{{steps.0.output.level}}',
      '{{steps.1.output.status}}',
      '{{steps.1.output.body}}',
      '{{steps.1.output.headers}}',
      '{{execution.id}}',
      '{{workflow.id}}',
    ]);
  });
});
