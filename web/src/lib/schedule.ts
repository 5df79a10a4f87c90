import type { TriggerSpec } from '../api/types';

const UNITS: Record<string, string> = { s: 's', m: 'min', h: 'h' };

/** A trigger as the API shows it (its spec's fields flattened, as in a workflow). */
export interface TriggerLike {
  type: TriggerSpec['type'];
  interval?: string;
  cron?: string;
  timezone?: string;
}

/** A trigger in words: "every 10 s", "cron 0 9 * * 1-5 (Europe/Paris)", "webhook", "manual". */
export function describeTrigger(trigger: TriggerLike): string {
  switch (trigger.type) {
    case 'periodic': {
      const match = /^(\d+)([smh])$/.exec(trigger.interval ?? '');
      return match ? `every ${match[1]} ${UNITS[match[2]!]}` : `every ${trigger.interval ?? '?'}`;
    }
    case 'cron':
      return `cron ${trigger.cron} (${trigger.timezone ?? 'UTC'})`;
    case 'webhook':
      return 'webhook';
    case 'manual':
      return 'manual';
  }
}

/** "in 4 s", "in 3 min", "5 min ago", "just now": a time relative to `now`, to the largest whole unit. */
export function relativeTime(at: Date, now: Date): string {
  const diff = at.getTime() - now.getTime();
  const abs = Math.abs(diff);
  if (abs < 1_000) return 'just now';
  const [value, unit] =
    abs < 60_000 ? [Math.floor(abs / 1_000), 's'] : abs < 3_600_000 ? [Math.floor(abs / 60_000), 'min'] : abs < 86_400_000 ? [Math.floor(abs / 3_600_000), 'h'] : [Math.floor(abs / 86_400_000), 'd'];
  return diff > 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

/** A duration for people: "850 ms", "2.4 s", "3 min 5 s", "2 h 10 min". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.floor((ms % 3_600_000) / 60_000)} min`;
}

/** A countdown to `at`: "0:07", "12:03", "1:02:03"; "0:00" once passed. */
export function countdown(at: Date, now: Date): string {
  const total = Math.max(0, Math.ceil((at.getTime() - now.getTime()) / 1_000));
  const h = Math.floor(total / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Date and time in the browser's locale, to the second. */
export const formatTime = (iso: string): string => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/**
 * The most attempts a run can have: its attempt and the retries left, where a run waiting
 * for its retry has already been charged the retry it waits for.
 */
export const attemptsAtMost = (run: { attempt: number; retriesLeft: number; status: string }): number =>
  run.attempt + run.retriesLeft + (run.status === 'pending_retry' ? 1 : 0);
