import ms from 'ms';
import { z } from 'zod';

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
  .regex(/^[1-9][0-9]{0,5}(s|m|h)$/, 'must be a whole number followed by s, m or h, e.g. "10s", "5m", "1h"')
  .refine((v) => (ms(v as ms.StringValue) ?? 0) >= MIN_INTERVAL_MS, 'must be at least 1s');

export function intervalToMs(interval: string): number {
  const value = ms(interval as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`invalid interval ${interval}`);
  return value;
}

export const TriggerStatusSchema = z.enum(['idle', 'busy', 'pending']);
export type TriggerStatus = z.infer<typeof TriggerStatusSchema>;

export const TriggerSpecSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('periodic'), interval: IntervalSchema }),
  z.strictObject({
    type: z.literal('cron'),
    cron: z.string().min(1).max(120),
    timezone: z.string().min(1).max(64).optional(),
  }),
  z.strictObject({ type: z.literal('manual') }),
  z.strictObject({ type: z.literal('webhook') }),
]);
export type TriggerSpec = z.infer<typeof TriggerSpecSchema>;
export type TriggerType = TriggerSpec['type'];

/** The trigger as stored: the user's spec plus the state the system keeps about it. */
export type StoredTrigger = TriggerSpec & {
  status: TriggerStatus;
  /** Next due time of a periodic or cron trigger. */
  nextRunAt?: Date;
  /** Until when a scheduler holds the claim on this workflow's due run. */
  leaseUntil?: Date;
  /** Webhook triggers: public id of the hook and a SHA-256 of its secret. */
  hookId?: string;
  secretHash?: string;
};

const LogActionSchema = z.strictObject({
  type: z.literal('log'),
  message: z.string().min(1).max(10_000),
  level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A URL, or a template that becomes one at run time (`https://api/{{trigger.payload.id}}`). */
const TemplatedUrlSchema = z
  .string()
  .min(1)
  .max(2_048)
  .refine((v) => {
    if (v.includes('{{')) return /^(https?:\/\/|\{\{)/i.test(v);
    try {
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

const HttpRequestActionSchema = z.strictObject({
  type: z.literal('http-request'),
  url: TemplatedUrlSchema,
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']),
  headers: z
    .record(z.string().regex(HEADER_NAME, 'must be a valid header name').max(256), z.string().max(MAX_HEADER_VALUE_LENGTH))
    .refine((h) => Object.keys(h).length <= MAX_HTTP_HEADERS, `at most ${MAX_HTTP_HEADERS} headers`)
    .optional(),
  body: z.unknown().optional(),
  timeoutMs: z.number().int().min(1).max(120_000).optional(),
});

export const ActionSchema = z.discriminatedUnion('type', [LogActionSchema, HttpRequestActionSchema]);
export type Action = z.infer<typeof ActionSchema>;
export type LogAction = z.infer<typeof LogActionSchema>;
export type HttpRequestAction = z.infer<typeof HttpRequestActionSchema>;
export const DEFAULT_ACTION_TIMEOUT_MS = 10_000;

export const RetryPolicySchema = z
  .strictObject({
    maxRetries: z.number().int().min(0).max(20).default(3),
    baseDelayMs: z.number().int().min(10).max(3_600_000).default(1_000),
    maxDelayMs: z.number().int().min(10).max(86_400_000).default(60_000),
  })
  .refine((p) => p.maxDelayMs >= p.baseDelayMs, { message: 'must be at least baseDelayMs', path: ['maxDelayMs'] });
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 1_000, maxDelayMs: 60_000 };

const ActionsSchema = z.array(ActionSchema).min(1).max(MAX_ACTIONS);

/** `POST /workflows`. */
export const CreateWorkflowSchema = z.strictObject({
  workflowId: WorkflowIdSchema,
  name: z.string().min(1).max(200).optional(),
  enabled: z.boolean().optional(),
  trigger: TriggerSpecSchema,
  actions: ActionsSchema,
  retryPolicy: RetryPolicySchema.optional(),
});
export type CreateWorkflowInput = z.infer<typeof CreateWorkflowSchema>;

/** `PUT /workflows/:workflowId`: the whole definition; `workflowId` may be repeated but not changed. */
export const ReplaceWorkflowSchema = CreateWorkflowSchema.extend({ workflowId: WorkflowIdSchema.optional() });
export type ReplaceWorkflowInput = z.infer<typeof ReplaceWorkflowSchema>;

/** `PATCH /workflows/:workflowId`: any subset of the definition. */
export const PatchWorkflowSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    enabled: z.boolean().optional(),
    trigger: TriggerSpecSchema.optional(),
    actions: ActionsSchema.optional(),
    retryPolicy: RetryPolicySchema.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'must change at least one field');
export type PatchWorkflowInput = z.infer<typeof PatchWorkflowSchema>;

export interface Workflow {
  workflowId: string;
  ownerId: string;
  name: string;
  enabled: boolean;
  trigger: StoredTrigger;
  actions: Action[];
  retryPolicy: RetryPolicy;
  createdAt: Date;
  updatedAt: Date;
  /** Incremented on every change to the definition; used for optimistic concurrency. */
  version: number;
}

export function isScheduled(trigger: TriggerSpec): boolean {
  return trigger.type === 'periodic' || trigger.type === 'cron';
}
