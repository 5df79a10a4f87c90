import { nextCronRun, previousCronRun } from './cron.js';
import { intervalToMs, type ScheduledSpec, type TriggerSpec } from './workflow.js';

/**
 * The first due time of a scheduled trigger strictly after `after`, or undefined for a
 * trigger that is not scheduled. A periodic trigger runs every `interval` from `anchor`
 * (its previous due time); a scheduler that was down skips the runs it missed rather than
 * firing them all at once.
 */
export function nextRunAfter(trigger: TriggerSpec, after: Date, anchor?: Date): Date | undefined {
  switch (trigger.type) {
    case 'periodic': {
      const every = intervalToMs(trigger.interval);
      if (!anchor) return new Date(after.getTime() + every);
      const behind = after.getTime() - anchor.getTime();
      const steps = behind < 0 ? 1 : Math.floor(behind / every) + 1;
      return new Date(anchor.getTime() + steps * every);
    }
    case 'cron':
      return nextCronRun(trigger.cron, trigger.timezone, after);
    default:
      return undefined;
  }
}

/**
 * A due time acted on later than this was missed, not merely late (Quartz calls it the misfire
 * threshold, with the same default). Ordinary scheduling delay stays far below it.
 */
export const MISFIRE_THRESHOLD_MS = 60_000;

export interface DueSlot {
  /** The due time to run now: the latest one that has passed, unless it was missed and `catchUp` is `none`. */
  runFor?: Date;
  /** The latest due time that has passed (`dueAt` or a later one). */
  latest: Date;
  /** Due times before `latest` (from `dueAt` on) that pass without a run of their own. */
  skippedEarlier: boolean;
  /** The first due time after `now`. */
  next: Date;
}

/**
 * What the scheduler does with a workflow whose `nextRunAt` (`dueAt`) has passed, at `now`.
 * Only the latest passed due time can run: a scheduler that was kept from acting never fires a
 * burst of runs for the times it could not act on. That latest due time runs if it is less than
 * MISFIRE_THRESHOLD_MS old; older, it was missed, and runs only with `catchUp: "latest"`.
 */
export function dueSlot(trigger: ScheduledSpec, dueAt: Date, now: Date): DueSlot {
  const latest = latestDueAt(trigger, dueAt, now);
  const onTime = now.getTime() - latest.getTime() <= MISFIRE_THRESHOLD_MS;
  return {
    ...(onTime || trigger.catchUp === 'latest' ? { runFor: latest } : {}),
    latest,
    skippedEarlier: latest.getTime() > dueAt.getTime(),
    // Strictly after the due time, even if `now` (read before the claim) is not yet past it.
    next: nextRunAfter(trigger, now > dueAt ? now : dueAt, dueAt)!,
  };
}

/** The latest due time at or before `now`, `dueAt` being one (the stored `nextRunAt`). */
function latestDueAt(trigger: ScheduledSpec, dueAt: Date, now: Date): Date {
  if (now.getTime() <= dueAt.getTime()) return dueAt;
  if (trigger.type === 'periodic') {
    const every = intervalToMs(trigger.interval);
    return new Date(dueAt.getTime() + Math.floor((now.getTime() - dueAt.getTime()) / every) * every);
  }
  const previous = previousCronRun(trigger.cron, trigger.timezone, now);
  return previous.getTime() > dueAt.getTime() ? previous : dueAt;
}
