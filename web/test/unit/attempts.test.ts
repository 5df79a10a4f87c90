import { describe, expect, it } from 'vitest';
import type { Run } from '../../src/api/types';
import { currentAttemptSpan, earlierAttemptSpan, ENDED_AS_LABEL } from '../../src/lib/attempts';

const T0 = '2026-01-01T12:00:00.000Z';
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

function run(extra: Partial<Run>): Run {
  return {
    executionId: 'e',
    workflowId: 'w',
    workflowVersion: 1,
    status: 'running',
    attempt: 1,
    retriesLeft: 3,
    trigger: { type: 'manual', firedAt: T0 },
    createdAt: T0,
    updatedAt: T0,
    steps: [],
    attempts: [],
    ...extra,
  };
}

describe('attempt spans on the run timeline', () => {
  it('times an earlier attempt from its first step to its end, and not at all when no step ran', () => {
    expect(earlierAttemptSpan({ attempt: 1, endedAs: 'pending_retry', startedAt: at(0), finishedAt: at(2_500), steps: [] })).toEqual({ startedAt: at(0), durationMs: 2_500 });
    expect(earlierAttemptSpan({ attempt: 3, endedAs: 'lease_expired', finishedAt: at(2_500), steps: [] })).toEqual({});
  });

  it('times the current attempt from its own first step, to the wait, the finish, or now while it runs', () => {
    const steps: Run['steps'] = [
      { index: 0, type: 'log', status: 'succeeded', attempt: 1, startedAt: at(0), finishedAt: at(10) },
      { index: 1, type: 'http-request', status: 'failed', attempt: 2, startedAt: at(5_000), finishedAt: at(5_300) },
    ];
    const now = new Date(at(9_000));
    expect(currentAttemptSpan(run({ attempt: 2, status: 'pending_retry', steps, updatedAt: at(5_400) }), now)).toEqual({ startedAt: at(5_000), durationMs: 400 });
    expect(currentAttemptSpan(run({ attempt: 2, status: 'running', steps }), now)).toEqual({ startedAt: at(5_000), durationMs: 4_000 });
    expect(currentAttemptSpan(run({ attempt: 2, status: 'completed', steps, finishedAt: at(6_000) }), now)).toEqual({ startedAt: at(5_000), durationMs: 1_000 });
    expect(currentAttemptSpan(run({ attempt: 3, status: 'queued', steps }), now)).toEqual({}); // a queued retry has not started
    expect(currentAttemptSpan(run({ status: 'queued', startedAt: undefined }), now)).toEqual({});
  });

  it('says in words how each earlier attempt ended', () => {
    expect(Object.values(ENDED_AS_LABEL)).toEqual(['failed, retried', 'failed, re-run', 'cancelled, re-run', 'runner lost, queued again']);
  });
});
