// The consumer-side rule both buses apply to a fetched batch. It knows nothing of kafkajs,
// so the in-process bus imports it too and the two cannot drift apart.
import { decodeEvent } from '../../domain/events.js';
import type { Logger } from '../../logger.js';
import type { BatchHandler, DeadLetterCause, HandledBatch, ReceivedEvent } from '../../ports/bus.js';

/** Most events per handler call when `ConsumerOptions.maxBatchSize` is not given. */
export const DEFAULT_MAX_BATCH_SIZE = 50;

/** Headers a dead-lettered message carries, besides its original key and value. */
export const DEAD_LETTER_HEADERS = {
  reason: 'x-dead-letter-reason',
  originalTopic: 'x-original-topic',
  originalPartition: 'x-original-partition',
  originalOffset: 'x-original-offset',
} as const;

/** Headers every published event carries, so tools can route without parsing the value. */
export const EVENT_HEADERS = { type: 'x-event-type', id: 'x-event-id' } as const;

export interface FetchedMessage {
  /** A Kafka offset (int64, hence a string). */
  offset: string;
  key: string | null;
  value: Buffer | string | null;
}

export interface FetchedBatch {
  topic: string;
  partition: number;
  /** In offset order. */
  messages: readonly FetchedMessage[];
}

export type BatchStep =
  /** `messages[i]` is what `events[i]` was decoded from. */
  | { kind: 'deliver'; events: ReceivedEvent[]; messages: FetchedMessage[]; firstOffset: string; lastOffset: string }
  | { kind: 'dead-letter'; message: FetchedMessage; reason: string };

/**
 * Splits a batch into steps, in offset order: runs of valid events become deliveries of at
 * most `maxBatchSize` events; each invalid message becomes its own dead-letter step. Keeping
 * the order means acknowledging a step never skips an offset an earlier step still holds.
 */
export function planBatch(batch: FetchedBatch, maxBatchSize: number): BatchStep[] {
  const steps: BatchStep[] = [];
  let open: Extract<BatchStep, { kind: 'deliver' }> | undefined;
  for (const message of batch.messages) {
    const decoded = decodeEvent(message.value);
    if (!decoded.ok) {
      open = undefined;
      steps.push({ kind: 'dead-letter', message, reason: decoded.reason });
      continue;
    }
    if (!open || open.events.length >= maxBatchSize) {
      open = { kind: 'deliver', events: [], messages: [], firstOffset: message.offset, lastOffset: message.offset };
      steps.push(open);
    }
    open.events.push({ topic: batch.topic, key: message.key, event: decoded.event });
    open.messages.push(message);
    open.lastOffset = message.offset;
  }
  return steps;
}

export interface BatchRun {
  handler: BatchHandler;
  maxBatchSize: number;
  logger: Logger;
  /** Publishes a message to the dead-letter topic; resolves once it is durable. */
  deadLetter(message: FetchedMessage, headers: Record<string, string>, cause: DeadLetterCause): Promise<void>;
  /** Marks every offset up to and including `offset` as consumed (resolve + commit). */
  acknowledge(offset: string): Promise<void>;
  /** Called before every step: false stops early, leaving the rest for redelivery. */
  proceed(): Promise<boolean>;
}

/** A step failed: nothing from it on was acknowledged, so it will be delivered again. */
export class BatchStepError extends Error {
  constructor(
    readonly step: BatchStep['kind'],
    readonly context: { topic: string; partition: number; firstOffset: string; lastOffset: string; executionIds?: string[] },
    override readonly cause: unknown,
  ) {
    super(step === 'deliver' ? 'event handler failed; the events will be redelivered' : 'dead-lettering failed; the message will be redelivered');
    this.name = 'BatchStepError';
  }
}

/**
 * Runs a batch: each delivery goes to the handler and each invalid message to the dead-letter
 * topic, and only then is it acknowledged (at-least-once); so are the events the handler gave
 * up on, once dead-lettered. A failing step throws `BatchStepError` with that step and
 * everything after it unacknowledged.
 */
export async function consumeBatch(batch: FetchedBatch, run: BatchRun): Promise<void> {
  const { topic, partition } = batch;
  const deadLetter = async (message: FetchedMessage, reason: string, cause: DeadLetterCause) => {
    try {
      await run.deadLetter(message, {
        [DEAD_LETTER_HEADERS.reason]: reason,
        [DEAD_LETTER_HEADERS.originalTopic]: topic,
        [DEAD_LETTER_HEADERS.originalPartition]: String(partition),
        [DEAD_LETTER_HEADERS.originalOffset]: message.offset,
      }, cause);
    } catch (err) {
      throw new BatchStepError('dead-letter', { topic, partition, firstOffset: message.offset, lastOffset: message.offset }, err);
    }
  };
  for (const step of planBatch(batch, run.maxBatchSize)) {
    if (!(await run.proceed())) return;
    if (step.kind === 'deliver') {
      let handled: HandledBatch | void;
      try {
        handled = await run.handler(step.events);
      } catch (err) {
        const { firstOffset, lastOffset } = step;
        const executionIds = step.events.map((e) => e.event.data.executionId);
        throw new BatchStepError('deliver', { topic, partition, firstOffset, lastOffset, executionIds }, err);
      }
      for (const { event, reason } of handled?.deadLetters ?? []) {
        const message = step.messages[step.events.indexOf(event)];
        if (!message) throw new Error('a handler may dead-letter only events it was handed in that call');
        run.logger.warn({ topic, partition, offset: message.offset, key: message.key, reason }, 'the handler gave up on an event; dead-lettering it');
        await deadLetter(message, reason, 'given_up');
      }
      await run.acknowledge(step.lastOffset);
    } else {
      const { message, reason } = step;
      run.logger.warn({ topic, partition, offset: message.offset, key: message.key, reason }, 'invalid message; dead-lettering it');
      await deadLetter(message, reason, 'invalid');
      await run.acknowledge(message.offset);
    }
  }
}
