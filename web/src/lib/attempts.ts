import type { Run, Step } from '../api/types';

export type EarlierAttempt = Run['attempts'][number];

/** What became of an earlier attempt, in words. */
export const ENDED_AS_LABEL: Record<EarlierAttempt['endedAs'], string> = {
  pending_retry: 'failed, retried',
  failed: 'failed, re-run',
  cancelled: 'cancelled, re-run',
  lease_expired: 'runner lost, queued again',
};

/** An attempt's place in time: when its first step started, and how long it took (so far, while it runs). */
export interface AttemptSpan {
  startedAt?: string;
  durationMs?: number;
}

/** When the first of `steps` that ran on `attempt` started (ISO times compare as text). */
function firstStart(steps: readonly Step[], attempt: number): string | undefined {
  return steps
    .filter((step) => step.attempt === attempt && step.startedAt !== undefined)
    .map((step) => step.startedAt!)
    .sort()[0];
}

const between = (from: string | undefined, to: string | Date | undefined) => (from && to ? new Date(to).getTime() - new Date(from).getTime() : undefined);

export function earlierAttemptSpan(record: EarlierAttempt): AttemptSpan {
  return spanOf(record.startedAt, between(record.startedAt, record.finishedAt));
}

/**
 * The run's current attempt: from its first step (or, on the first attempt, from when the run
 * started) to its end: the run's finish, the moment it stopped to wait (for a retry or at a
 * delay), or `now` while it runs.
 */
export function currentAttemptSpan(run: Run, now: Date): AttemptSpan {
  const startedAt = firstStart(run.steps, run.attempt) ?? (run.attempt === 1 ? run.startedAt : undefined);
  const end = run.finishedAt ?? (run.status === 'pending_retry' || run.status === 'waiting' ? run.updatedAt : run.status === 'running' ? now : undefined);
  return spanOf(startedAt, between(startedAt, end));
}

const spanOf = (startedAt: string | undefined, durationMs: number | undefined): AttemptSpan => ({
  ...(startedAt ? { startedAt } : {}),
  ...(durationMs !== undefined ? { durationMs: Math.max(0, durationMs) } : {}),
});
