import { CronExpressionParser } from 'cron-parser';
import { intervalToMs, type TriggerSpec } from './workflow.js';

/** Throws with a readable message if the expression or the time zone is invalid. */
export function validateCron(expression: string, timezone?: string): void {
  CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(0) }).next();
}

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
      return CronExpressionParser.parse(trigger.cron, { tz: trigger.timezone, currentDate: after }).next().toDate();
    default:
      return undefined;
  }
}
