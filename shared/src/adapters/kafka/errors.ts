import kafkajs from 'kafkajs';
import { UnavailableError } from '../../errors.js';

const { KafkaJSError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

/**
 * True when kafkajs gave up on something that may work later: a connection, a timeout, a
 * broker without a leader, or any retriable error it retried until its budget ran out.
 * Non-retriable protocol errors (message too large, authorization, invalid topic) are not:
 * retrying them later cannot help, so they must not look like an outage.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof KafkaJSNumberOfRetriesExceeded) return true;
  return err instanceof KafkaJSError && err.retriable;
}

/** Maps a kafkajs failure to `UnavailableError` when it is transient; anything else is rethrown as is. */
export function toBusError(err: unknown, what: string): unknown {
  if (err instanceof UnavailableError || !isTransient(err)) return err;
  return new UnavailableError(`${what}: ${(err as Error).message}`, err);
}

/**
 * What a failed `eachBatch` throws: a retriable KafkaJSError, so kafkajs redelivers from the
 * last resolved offset after a backoff and, once its retries are spent, restarts the consumer.
 * An error kafkajs classes as unrecoverable (TypeError, RangeError, ...) would instead stop
 * the consumer for good, and any non-kafkajs error would be logged a second time by kafkajs.
 */
export class RedeliverError extends KafkaJSError {
  override readonly name = 'RedeliverError';
  constructor(readonly failure: unknown) {
    super(failure instanceof Error ? failure : String(failure), { retriable: true });
  }
}
