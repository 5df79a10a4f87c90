import ms from 'ms';
import { z } from 'zod';
import { holds } from '../validation.js';
import { ConditionSchema } from './condition.js';
import { isCronExpression, isIanaTimeZone } from './cron.js';

/** A user-chosen slug, unique per owner. Kept URL-safe so it can sit in a path. */
export const WorkflowIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must start with a letter or digit and contain only letters, digits, "-" and "_"');
export type WorkflowId = z.infer<typeof WorkflowIdSchema>;

export const MIN_INTERVAL_MS = 1_000;
export const MAX_ACTIONS = 20;
export const MAX_HTTP_HEADERS = 50;
export const MAX_HEADER_VALUE_LENGTH = 8_192;

/** `10s`, `5m`, `1h`: parsed with `ms`, restricted to seconds, minutes and hours. */
export const IntervalSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,5}(s|m|h)$/, { message: 'must be a whole number followed by s, m or h, e.g. "10s", "5m", "1h"', abort: true })
  .refine(holds((v: string) => intervalToMs(v) >= MIN_INTERVAL_MS), 'must be at least 1s');

export function intervalToMs(interval: string): number {
  const value = ms(interval as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`invalid interval ${interval}`);
  return value;
}

export const TriggerStatusSchema = z.enum(['idle', 'busy', 'pending']);
export type TriggerStatus = z.infer<typeof TriggerStatusSchema>;

/** Checked by the same parser the scheduler runs (see `cron.ts`). */
export const CronExpressionSchema = z
  .string()
  .min(1)
  .max(120)
  .refine(isCronExpression, 'must be a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "*/5 * * * *"');

export const TimeZoneSchema = z.string().min(1).max(64).refine(isIanaTimeZone, 'must be an IANA time zone name, e.g. "Europe/Paris" or "UTC"');

/**
 * What happens to due times that passed while the scheduler could not act on them (the store
 * or the broker was down): `none` (the default) skips them, `latest` runs once, for the most
 * recent of them. See `dueSlot`.
 */
export const CatchUpSchema = z
  .enum(['none', 'latest'])
  .describe('Due times missed while the system was down: "none" (default) skips them, "latest" runs once for the most recent');
export type CatchUp = z.infer<typeof CatchUpSchema>;

/**
 * What a scheduled trigger does when a run falls due while the previous one has not ended:
 * `skip` it (the default), or `queue` it: the due run waits until the workflow is free, and
 * at most one waits (later due times while it waits collapse into it).
 */
export const OverlapPolicySchema = z.enum(['skip', 'queue']);
export type OverlapPolicy = z.infer<typeof OverlapPolicySchema>;

export const TriggerSpecSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('periodic'), interval: IntervalSchema, catchUp: CatchUpSchema.optional(), overlap: OverlapPolicySchema.optional() }),
  z.strictObject({
    type: z.literal('cron'),
    cron: CronExpressionSchema,
    /** Where the expression's hours and days are read; UTC when absent. */
    timezone: TimeZoneSchema.optional(),
    catchUp: CatchUpSchema.optional(),
    overlap: OverlapPolicySchema.optional(),
  }),
  z.strictObject({ type: z.literal('manual') }),
  z.strictObject({ type: z.literal('webhook') }),
]);
export type TriggerSpec = z.infer<typeof TriggerSpecSchema>;
export type TriggerType = TriggerSpec['type'];

/** The trigger as stored: the user's spec plus the state the system keeps about it. */
export type StoredTrigger = TriggerSpec & {
  status: TriggerStatus;
  /** The run that holds the trigger while it is busy or pending: only that run moves it on. */
  executionId?: string;
  /** Next due time of a periodic or cron trigger. */
  nextRunAt?: Date;
  /** Until when a scheduler holds the claim on this workflow's due run. */
  leaseUntil?: Date;
  /** Webhook triggers: public id of the hook and a SHA-256 of its secret. */
  hookId?: string;
  secretHash?: string;
};

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
/**
 * Every field a user defines a trigger with (the compiler checks the list is complete), and
 * whether it decides when the trigger falls due: `catchUp` says only what happens to missed
 * due times and `overlap` what happens to a due run while one is in progress, so a change of
 * either alone keeps the schedule.
 */
const TRIGGER_SPEC_FIELD: Record<KeysOfUnion<TriggerSpec>, boolean> = { type: true, interval: true, cron: true, timezone: true, catchUp: false, overlap: false };
/** The fields that decide a trigger's due times. */
export const TRIGGER_SPEC_FIELDS = (Object.keys(TRIGGER_SPEC_FIELD) as KeysOfUnion<TriggerSpec>[]).filter((f) => TRIGGER_SPEC_FIELD[f]);

/** Do two triggers define the same thing? Then they fall due at the same times, and a stored one keeps its `nextRunAt`. */
export function sameTriggerSpec(a: TriggerSpec, b: TriggerSpec): boolean {
  const field = (t: TriggerSpec, f: KeysOfUnion<TriggerSpec>) => (t as Partial<Record<KeysOfUnion<TriggerSpec>, unknown>>)[f];
  return TRIGGER_SPEC_FIELDS.every((f) => field(a, f) === field(b, f));
}

export const RetryPolicySchema = z
  .strictObject({
    maxRetries: z.number().int().min(0).max(20).default(3),
    baseDelayMs: z.number().int().min(10).max(3_600_000).default(1_000),
    maxDelayMs: z.number().int().min(10).max(86_400_000).default(60_000),
  })
  .refine((p) => p.maxDelayMs >= p.baseDelayMs, { message: 'must be at least baseDelayMs', path: ['maxDelayMs'] });
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 1_000, maxDelayMs: 60_000 };

/**
 * What any action may set for its own step: a timeout, a retry policy of its own (used,
 * instead of the workflow's, when this step fails: the step is retried up to its
 * `maxRetries` times, whatever the run's retries left), `continueOnError` (the step is
 * marked failed and the run goes on), and `if`, a condition that skips just this step when
 * false.
 */
const StepSettingFields = {
  timeoutMs: z.number().int().min(1).max(120_000).optional(),
  retry: RetryPolicySchema.optional(),
  continueOnError: z.boolean().optional(),
  if: ConditionSchema.optional(),
};
export type StepSettings = { timeoutMs?: number; retry?: RetryPolicy; continueOnError?: boolean; if?: unknown };

const LogActionSchema = z.strictObject({
  type: z.literal('log'),
  message: z.string().min(1).max(10_000),
  level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
  ...StepSettingFields,
});

/** An HTTP header name (RFC 9110 token). */
export const HTTP_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Tabs are allowed; CR and LF (a second header or a body smuggled in) and other control characters are not. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
export const HTTP_HEADER_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;

/** A URL, or a template that becomes one at run time (`https://api/{{trigger.payload.id}}`). */
const TemplatedUrlSchema = z
  .string()
  .min(1)
  .max(2_048)
  .refine(
    holds((v: string) => {
      if (v.includes('{{')) return /^(https?:\/\/|\{\{)/i.test(v);
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:';
    }),
    'must be an http(s) URL',
  );

const HttpRequestActionSchema = z.strictObject({
  type: z.literal('http-request'),
  url: TemplatedUrlSchema,
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']),
  headers: z
    .record(z.string().regex(HTTP_HEADER_NAME, 'must be a valid header name').max(256), z.string().max(MAX_HEADER_VALUE_LENGTH).regex(HTTP_HEADER_VALUE, 'must not contain line breaks or control characters'))
    .refine((h) => Object.keys(h).length <= MAX_HTTP_HEADERS, `at most ${MAX_HTTP_HEADERS} headers`)
    .optional(),
  body: z.unknown().optional(),
  /**
   * Every request carries an `Idempotency-Key` header that is the same on every delivery and
   * re-run of this step of this execution (see `stepIdempotencyKey`), unless the headers set
   * one, or this is false.
   */
  idempotencyKey: z.literal(false).optional(),
  ...StepSettingFields,
});

/** Ends the run `completed`, its remaining steps `skipped`, when `when` is false. */
const FilterActionSchema = z.strictObject({
  type: z.literal('filter'),
  when: ConditionSchema,
});

export const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;

/** `30s`, `15m`, `2h`, `7d`: how long a delay step parks its run (at most a year). */
export const DelayDurationSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,5}(s|m|h|d)$/, { message: 'must be a whole number followed by s, m, h or d, e.g. "15m"', abort: true })
  .refine(holds((v: string) => intervalToMs(v) <= MAX_DELAY_MS), 'must be at most 365d');

/**
 * Parks the run (`waiting`, holding no runner) for `duration`, or until `until`: an ISO 8601
 * time, or a template that becomes one (`{{trigger.payload.sendAt}}`); a time already past
 * does not wait. The scheduler resumes the run at the next step.
 */
const DelayActionSchema = z
  .strictObject({
    type: z.literal('delay'),
    duration: DelayDurationSchema.optional(),
    until: z
      .string()
      .min(1)
      .max(200)
      .refine((v) => v.includes('{{') || !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 time, e.g. "2026-03-01T09:00:00Z", or a template that becomes one')
      .optional(),
  })
  .refine((a) => (a.duration === undefined) !== (a.until === undefined), 'needs exactly one of duration and until');

export const ActionSchema = z.discriminatedUnion('type', [LogActionSchema, HttpRequestActionSchema, FilterActionSchema, DelayActionSchema]);
export type Action = z.infer<typeof ActionSchema>;
export type LogAction = z.infer<typeof LogActionSchema>;
export type HttpRequestAction = z.infer<typeof HttpRequestActionSchema>;
export type FilterAction = z.infer<typeof FilterActionSchema>;
export type DelayAction = z.infer<typeof DelayActionSchema>;
/** Every action type, for schemas of what names one (a step's type). */
export const ACTION_TYPES = ['log', 'http-request', 'filter', 'delay'] as const satisfies readonly Action['type'][];

/**
 * The `Idempotency-Key` of an http-request step: derived from the execution and the step
 * only, so a step that runs again (redelivered after its runner died, retried, re-run) sends
 * the same key, and a receiver that honours the header applies the effect once.
 */
export function stepIdempotencyKey(executionId: string, stepIndex: number): string {
  return `${executionId}.step-${stepIndex}`;
}
export const DEFAULT_ACTION_TIMEOUT_MS = 10_000;

/** How long a step may run: its own `timeoutMs`, or the default. */
export function stepTimeoutMs(action: Action): number {
  return ('timeoutMs' in action ? action.timeoutMs : undefined) ?? DEFAULT_ACTION_TIMEOUT_MS;
}

/** The step settings an action carries (a filter and a delay carry none). */
export function stepSettings(action: Action): StepSettings {
  return action.type === 'filter' || action.type === 'delay' ? {} : action;
}


/** The ordered steps of a workflow. */
export const ActionsSchema = z.array(ActionSchema).min(1).max(MAX_ACTIONS);

/** How much history a workflow keeps beyond the system's retention period: only its newest `maxRuns` runs. */
export const RetentionSchema = z.strictObject({ maxRuns: z.number().int().min(1).max(1_000_000) });
export type Retention = z.infer<typeof RetentionSchema>;

/** What its owner names a workflow. */
export const WorkflowNameSchema = z.string().min(1).max(200);

export interface Workflow {
  workflowId: string;
  ownerId: string;
  name: string;
  enabled: boolean;
  trigger: StoredTrigger;
  actions: Action[];
  retryPolicy: RetryPolicy;
  /** Absent: runs are kept for the retention period (`EXECUTION_RETENTION`) only. */
  retention?: Retention;
  createdAt: Date;
  updatedAt: Date;
  /** Incremented on every change to the definition; used for optimistic concurrency. */
  version: number;
}

/**
 * Which definition of a workflow was read: its version within one life of the workflow id.
 * A workflow deleted and created again under the same id starts at version 1 again, so the
 * version alone cannot tell an old read from the new workflow; its creation time can.
 */
export type WorkflowRevision = Pick<Workflow, 'version' | 'createdAt'>;

export function sameRevision(a: WorkflowRevision, b: WorkflowRevision): boolean {
  return a.version === b.version && a.createdAt.getTime() === b.createdAt.getTime();
}

/** A trigger that falls due by itself: periodic or cron. */
export type ScheduledSpec = Extract<TriggerSpec, { type: 'periodic' | 'cron' }>;

export function isScheduled<T extends TriggerSpec>(trigger: T): trigger is Extract<T, ScheduledSpec> {
  return trigger.type === 'periodic' || trigger.type === 'cron';
}
