import { isScheduled, nextRunAfter, sameTriggerSpec, type StoredTrigger, type TriggerSpec } from '@wf/shared';
import { newHook } from './hook-secrets.js';

/** The user-facing part of a stored trigger, for comparing definitions. */
export function triggerSpecOf(trigger: StoredTrigger): TriggerSpec {
  switch (trigger.type) {
    case 'periodic':
      return {
        type: 'periodic',
        interval: trigger.interval,
        ...(trigger.catchUp ? { catchUp: trigger.catchUp } : {}),
        ...(trigger.overlap ? { overlap: trigger.overlap } : {}),
      };
    case 'cron':
      return {
        type: 'cron',
        cron: trigger.cron,
        ...(trigger.timezone ? { timezone: trigger.timezone } : {}),
        ...(trigger.catchUp ? { catchUp: trigger.catchUp } : {}),
        ...(trigger.overlap ? { overlap: trigger.overlap } : {}),
      };
    case 'manual':
      return { type: 'manual' };
    case 'webhook':
      return { type: 'webhook' };
  }
}

export interface BuiltTrigger {
  trigger: StoredTrigger;
  /** Set when a new hook was created: the only time its secret is shown. */
  hookSecret?: string;
}

/**
 * The stored trigger for `spec`, given the one it replaces (none on create). The run state
 * (`status`) always carries over; the schedule is kept while the spec is unchanged (so an
 * edit of the actions does not shift the next run) and recomputed from `now` otherwise; a
 * webhook keeps its hook while it stays a webhook and gets a new one when it becomes one.
 */
export function buildTrigger(spec: TriggerSpec, previous: StoredTrigger | undefined, now: Date): BuiltTrigger {
  const unchanged = previous !== undefined && sameTriggerSpec(previous, spec);
  const trigger: StoredTrigger = { ...spec, status: previous?.status ?? 'idle' };

  if (unchanged) {
    // The scheduler's claim (lease) and due time belong to it; leave them as they are.
    if (previous.nextRunAt) trigger.nextRunAt = previous.nextRunAt;
    if (previous.leaseUntil) trigger.leaseUntil = previous.leaseUntil;
  } else if (isScheduled(spec)) {
    const next = nextRunAfter(spec, now);
    if (next) trigger.nextRunAt = next;
  }

  if (spec.type !== 'webhook') return { trigger };
  if (previous?.type === 'webhook' && previous.hookId && previous.secretHash) {
    return { trigger: { ...trigger, hookId: previous.hookId, secretHash: previous.secretHash } };
  }
  const hook = newHook();
  return { trigger: { ...trigger, hookId: hook.hookId, secretHash: hook.secretHash }, hookSecret: hook.secret };
}
