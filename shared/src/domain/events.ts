import { z } from 'zod';
import { ExecutionStatusSchema } from './execution.js';

export const EVENT_VERSION = 1;

/**
 * Most error text a result event carries, in UTF-8 bytes. The run keeps its error in the
 * store (bounded there too); an event is a notice, and a message past the broker's limit
 * (1 MiB by default) would be refused on every try and hold up the outbox.
 */
export const MAX_EVENT_ERROR_BYTES = 4 * 1024;

const ExecutionRequestedData = z.object({
  executionId: z.string().min(1),
  workflowId: z.string().min(1),
  ownerId: z.string().min(1),
  attempt: z.number().int().min(1),
});

const ExecutionResultData = ExecutionRequestedData.extend({
  status: ExecutionStatusSchema,
  error: z.string().optional(),
  finishedAt: z.iso.datetime(),
});

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({
    id: z.string().min(1),
    type: z.literal(type),
    version: z.literal(EVENT_VERSION),
    occurredAt: z.iso.datetime(),
    data,
  });

export const ExecutionRequestedSchema = envelope('ExecutionRequested', ExecutionRequestedData);
export const ExecutionCompletedSchema = envelope('ExecutionCompleted', ExecutionResultData);
/** An attempt failed and another one is scheduled: not a failure of the run yet. */
export const ExecutionRetryScheduledSchema = envelope('ExecutionRetryScheduled', ExecutionResultData.extend({ nextAttemptAt: z.iso.datetime() }));
/** The run failed for good: no retries left, or a failure retrying cannot fix. */
export const ExecutionFailedSchema = envelope('ExecutionFailed', ExecutionResultData);
/** A run ended by its owner (`POST /executions/:id/cancel`). */
export const ExecutionCancelledSchema = envelope('ExecutionCancelled', ExecutionResultData);
/** A run parked at a delay step until `resumeAt` (`finishedAt`: when it parked); the scheduler queues it again then. */
export const ExecutionWaitingSchema = envelope('ExecutionWaiting', ExecutionResultData.extend({ resumeAt: z.iso.datetime() }));
export const EventEnvelopeSchema = z.discriminatedUnion('type', [
  ExecutionRequestedSchema,
  ExecutionCompletedSchema,
  ExecutionWaitingSchema,
  ExecutionRetryScheduledSchema,
  ExecutionFailedSchema,
  ExecutionCancelledSchema,
]);

export type ExecutionRequested = z.infer<typeof ExecutionRequestedSchema>;
export type ExecutionCompleted = z.infer<typeof ExecutionCompletedSchema>;
export type ExecutionRetryScheduled = z.infer<typeof ExecutionRetryScheduledSchema>;
export type ExecutionWaiting = z.infer<typeof ExecutionWaitingSchema>;
export type ExecutionFailed = z.infer<typeof ExecutionFailedSchema>;
export type ExecutionCancelled = z.infer<typeof ExecutionCancelledSchema>;
export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;
export type EventType = EventEnvelope['type'];

/**
 * The key of every event about a workflow's runs. A key sits on one partition, so one
 * workflow's events stay in order; it names the owner as well as the workflow because
 * workflowIds are unique per owner only, and two owners' workflows must not share a
 * partition's ordering (nor a runner's lane) just because their ids are the same.
 */
export function partitionKey(ownerId: string, workflowId: string): string {
  return `${ownerId}:${workflowId}`;
}

/** Logical topics; their Kafka names come from configuration. */
export type TopicName = 'requested' | 'result' | 'deadLetter';
export interface Topics {
  requested: string;
  result: string;
  deadLetter: string;
}
export const DEFAULT_TOPICS: Topics = {
  requested: 'execution.requested',
  result: 'execution.result',
  deadLetter: 'execution.dead-letter',
};

export function makeEvent<T extends EventType>(
  type: T,
  data: Extract<EventEnvelope, { type: T }>['data'],
  id: string,
  at: Date,
): Extract<EventEnvelope, { type: T }> {
  return { id, type, version: EVENT_VERSION, occurredAt: at.toISOString(), data } as Extract<EventEnvelope, { type: T }>;
}

export type DecodeResult = { ok: true; event: EventEnvelope } | { ok: false; reason: string };

/** Parse and validate a raw message value; never throws. */
export function decodeEvent(raw: Buffer | string | null | undefined): DecodeResult {
  if (raw == null) return { ok: false, reason: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, reason: 'value is not JSON' };
  }
  const parsed = EventEnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    };
  }
  return { ok: true, event: parsed.data };
}

export function encodeEvent(event: EventEnvelope): string {
  return JSON.stringify(EventEnvelopeSchema.parse(event));
}
