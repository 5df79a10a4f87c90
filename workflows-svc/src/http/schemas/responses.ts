import {
  ACTION_TYPES,
  ActionSchema,
  AttemptEndSchema,
  CatchUpSchema,
  ExecutionStatusSchema,
  IntervalSchema,
  OverlapPolicySchema,
  RetentionSchema,
  RetryPolicySchema,
  StepStatusSchema,
  TriggerStatusSchema,
  WorkflowIdSchema,
} from '@wf/shared';
import { z } from 'zod';

/*
 * The JSON the API answers with. `views.ts` builds each body with the type its schema
 * infers (so the compiler keeps them in step), and the OpenAPI document's response
 * schemas are generated from these: the document cannot drift from what is sent.
 */

const Timestamp = z.iso.datetime();
const withPage = <T extends z.ZodType>(item: T) => z.strictObject({ items: z.array(item), nextCursor: z.string().optional() });

/** The error body, its `code` one of `codes` (any string when none are given). */
export const errorResponse = (codes?: readonly [string, ...string[]]) =>
  z.strictObject({
    error: z.strictObject({
      code: codes ? z.enum(codes) : z.string(),
      message: z.string(),
      /** For `validation_failed`, one entry per bad field; other codes may carry their own (e.g. `triggerStatus`). */
      details: z.unknown().optional(),
    }),
  });
export const ErrorResponse = errorResponse();

export const HealthResponse = z.strictObject({ status: z.literal('ok') });
export const ReadinessResponse = z.strictObject({
  status: z.enum(['ready', 'unavailable', 'stopping']),
  /** Each dependency: `ok`, or why it did not answer. */
  checks: z.record(z.string(), z.string()).optional(),
});

export const SignupResponse = z.strictObject({
  userId: z.string(),
  email: z.string(),
  token: z.string(),
  /** Seconds until the token expires. */
  expiresIn: z.number().int(),
});
export const LoginResponse = SignupResponse.pick({ token: true, expiresIn: true });

export const HookResponse = z.strictObject({
  hookId: z.string(),
  url: z.string(),
  /** Only in the answer that created or rotated it. */
  secret: z.string().optional(),
});

const triggerState = { status: TriggerStatusSchema, nextRunAt: Timestamp.optional() };
export const TriggerView = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('periodic'), interval: IntervalSchema, catchUp: CatchUpSchema, overlap: OverlapPolicySchema.optional(), ...triggerState }),
  z.strictObject({ type: z.literal('cron'), cron: z.string(), timezone: z.string().optional(), catchUp: CatchUpSchema, overlap: OverlapPolicySchema.optional(), ...triggerState }),
  z.strictObject({ type: z.literal('manual'), ...triggerState }),
  z.strictObject({ type: z.literal('webhook'), ...triggerState }),
]);

export const WorkflowResponse = z.strictObject({
  workflowId: WorkflowIdSchema,
  name: z.string(),
  enabled: z.boolean(),
  trigger: TriggerView,
  hook: HookResponse.optional(),
  actions: z.array(ActionSchema),
  retryPolicy: RetryPolicySchema,
  retention: RetentionSchema.optional(),
  /** Also the `ETag`; send it as `If-Match` to change the workflow. */
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const WorkflowPageResponse = withPage(WorkflowResponse);

export const TriggerAcceptedResponse = z.strictObject({ executionId: z.string(), status: ExecutionStatusSchema });

export const StepView = z.strictObject({
  index: z.number().int(),
  type: z.enum(ACTION_TYPES),
  status: StepStatusSchema,
  attempt: z.number().int().optional(),
  /** How many times the step has failed, over every attempt (what a step's own retry policy counts). */
  failures: z.number().int().optional(),
  output: z.unknown().optional(),
  error: z.string().optional(),
  startedAt: Timestamp.optional(),
  finishedAt: Timestamp.optional(),
});

/** An earlier attempt of a run, as it ended; the current attempt is the run's `steps`. */
export const AttemptView = z.strictObject({
  attempt: z.number().int(),
  /** `pending_retry`: retried by its policy; `failed`, `cancelled`: re-run in place by its owner; `lease_expired`: its runner was lost. */
  endedAs: AttemptEndSchema,
  startedAt: Timestamp.optional(),
  finishedAt: Timestamp,
  error: z.string().optional(),
  /** The steps that ran on this attempt. */
  steps: z.array(StepView),
});

const executionFields = {
  executionId: z.string(),
  workflowId: z.string(),
  workflowVersion: z.number().int(),
  status: ExecutionStatusSchema,
  attempt: z.number().int(),
  retriesLeft: z.number().int(),
  nextAttemptAt: Timestamp.optional(),
  error: z.string().optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  startedAt: Timestamp.optional(),
  finishedAt: Timestamp.optional(),
  /** A re-run from the start: the execution it repeats. */
  rerunOf: z.string().optional(),
};
const firedBy = {
  type: z.enum(['manual', 'periodic', 'cron', 'webhook']),
  firedAt: Timestamp,
  scheduledFor: Timestamp.optional(),
};

/** An execution in a list: no steps, no payload (each can be large). */
export const ExecutionSummaryResponse = z.strictObject({ ...executionFields, trigger: z.strictObject(firedBy) });
export const ExecutionPageResponse = withPage(ExecutionSummaryResponse);
export const ExecutionResponse = z.strictObject({
  ...executionFields,
  trigger: z.strictObject({ ...firedBy, payload: z.unknown().optional() }),
  steps: z.array(StepView),
  /** The earlier attempts, oldest first: the newest 10 (`MAX_ATTEMPT_RECORDS`) at most; empty on a first attempt. */
  attempts: z.array(AttemptView),
});

export type WorkflowResponseBody = z.output<typeof WorkflowResponse>;
export type HookResponseBody = z.output<typeof HookResponse>;
export type ExecutionSummaryResponseBody = z.output<typeof ExecutionSummaryResponse>;
export type ExecutionResponseBody = z.output<typeof ExecutionResponse>;

// The dashboard's routes.

/** `POST /auth/session`: who signed in; the token itself is in the HttpOnly cookie only. */
export const SessionResponse = z.strictObject({ userId: z.string(), email: z.string(), expiresIn: z.number().int() });
/** `GET /auth/session`. */
export const CurrentUserResponse = SessionResponse.pick({ userId: true, email: true });

const StatusCounts = z.strictObject(Object.fromEntries(ExecutionStatusSchema.options.map((s) => [s, z.number().int()])) as Record<z.infer<typeof ExecutionStatusSchema>, z.ZodNumber>);

export const WindowStatsResponse = z.strictObject({
  from: Timestamp,
  to: Timestamp,
  bucketMs: z.number().int(),
  /** Buckets without runs are left out. */
  buckets: z.array(z.strictObject({ start: Timestamp, counts: StatusCounts })),
  totals: StatusCounts,
  failureRate: z.number().nullable(),
  durationMs: z.strictObject({ p50: z.number(), p95: z.number() }).nullable(),
  busiest: z.array(z.strictObject({ workflowId: z.string(), runs: z.number().int() })),
  mostFailing: z.array(z.strictObject({ workflowId: z.string(), failed: z.number().int(), runs: z.number().int() })),
});
export const RunStatsResponse = z.strictObject({ waitingForRetry: z.number().int(), hour: WindowStatsResponse, day: WindowStatsResponse });

export const RecentRunResponse = z.strictObject({ executionId: z.string(), status: ExecutionStatusSchema, createdAt: Timestamp, finishedAt: Timestamp.optional() });
export const RecentRunsResponse = z.strictObject({ items: z.record(z.string(), z.array(RecentRunResponse)) });

export type RecentRunResponseBody = z.output<typeof RecentRunResponse>;
export type WindowStatsResponseBody = z.output<typeof WindowStatsResponse>;

/** A secret as the API tells of it: its name and dates, never its value. */
export const SecretResponse = z.strictObject({ name: z.string(), createdAt: Timestamp, updatedAt: Timestamp });
export const SecretListResponse = z.strictObject({ items: z.array(SecretResponse) });
export type SecretResponseBody = z.infer<typeof SecretResponse>;
