import { nextCronRun } from './cron.js';
import { intervalToMs, type TriggerSpec } from './workflow.js';

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
