import {
  ActionsSchema,
  RetentionSchema,
  RetryPolicySchema,
  SecretNameSchema,
  SecretValueSchema,
  TriggerSpecSchema,
  WorkflowIdSchema,
  WorkflowNameSchema,
  normalizeEmail,
} from '@wf/shared';
import { z } from 'zod';
import type { RerunFrom } from '../../app/rerun-execution.js';
import type { Credentials } from '../../app/sign-up.js';
import type { CreateWorkflowInput, PatchWorkflowInput, ReplaceWorkflowInput } from '../../app/workflow-definition.js';

/*
 * The request bodies the API accepts. Their parts (trigger, actions, retry policy) are the
 * domain's own schemas; what is only about HTTP (which fields a body has, defaults,
 * unknown fields refused) is here. Each one produces the input of its use case, checked by
 * `satisfies`, and the OpenAPI document is generated from them.
 */

/** Surrounding spaces and case do not make another account (`normalizeEmail`). */
export const EmailSchema = z
  .string()
  .max(320)
  .overwrite(normalizeEmail)
  .max(254)
  .regex(z.regexes.email, 'must be an email address')
  .meta({ format: 'email', description: 'Surrounding spaces and letter case are ignored: it is one account either way' });

export const SignupBody = z.strictObject({ email: EmailSchema, password: z.string().min(8).max(256) }) satisfies z.ZodType<Credentials>;
export const LoginBody = z.strictObject({ email: EmailSchema, password: z.string().min(1).max(256) }) satisfies z.ZodType<Credentials>;

export const CreateWorkflowBody = z.strictObject({
  workflowId: WorkflowIdSchema,
  name: WorkflowNameSchema.optional(),
  enabled: z.boolean().optional(),
  trigger: TriggerSpecSchema,
  actions: ActionsSchema,
  retryPolicy: RetryPolicySchema.optional(),
  retention: RetentionSchema.optional().meta({ description: 'Keep only the newest `maxRuns` runs of this workflow (finished runs beyond them are deleted); without it, runs are kept for `EXECUTION_RETENTION`' }),
}) satisfies z.ZodType<CreateWorkflowInput>;

export const ReplaceWorkflowBody = CreateWorkflowBody.extend({ workflowId: WorkflowIdSchema.optional() }) satisfies z.ZodType<ReplaceWorkflowInput>;

export const PatchWorkflowBody = z
  .strictObject({
    name: WorkflowNameSchema.optional(),
    enabled: z.boolean().optional(),
    trigger: TriggerSpecSchema.optional(),
    actions: ActionsSchema.optional(),
    retryPolicy: RetryPolicySchema.optional(),
    retention: RetentionSchema.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'must change at least one field') satisfies z.ZodType<PatchWorkflowInput>;

/** Any JSON object a caller sends as the trigger payload (manual body, webhook body). */
export const TriggerPayloadBody = z.record(z.string(), z.unknown());

/** `POST /executions/:id/retry`: where the re-run starts; no body is `failed-step`. */
export const RerunBody = z.strictObject({
  from: z
    .enum(['failed-step', 'start'])
    .optional()
    .meta({ description: '`failed-step` (the default): the same execution resumes at the step that did not succeed; `start`: a new execution with the same payload' }),
}) satisfies z.ZodType<{ from?: RerunFrom }>;

/** `PUT /secrets/:name`: the value, sealed before it is stored and never returned. */
export const PutSecretBody = z.strictObject({ value: SecretValueSchema });
export const SecretNameParams = z.strictObject({ name: SecretNameSchema });
