import kafkajs, { type logCreator } from 'kafkajs';
import type { Logger } from '../../logger.js';

const { logLevel } = kafkajs;

/** The level kafkajs is told to log at: warnings and errors only, its info is chatter. */
export const KAFKAJS_LOG_LEVEL = logLevel.WARN;

/**
 * Warnings about choices this adapter makes on purpose; logged at debug instead of on every
 * start. The publisher bounds its retries so that `publish` rejects in bounded time (the
 * outbox relay retries on its next pass); duplicates that could follow are absorbed by
 * idempotent consumers.
 */
const EXPECTED_WARNINGS = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/**
 * kafkajs' Connection logs every error response at error level before handing it to the
 * caller, which retries or recovers (a member answers "the group is rebalancing" by
 * rejoining). What cannot be recovered surfaces as an error the caller logs.
 */
const isRequestErrorResponse = (namespace: string, message: string) => namespace === 'Connection' && message.startsWith('Response ');

/** Routes kafkajs' log entries into our pino logger instead of its console default. */
export function pinoLogCreator(logger: Logger): logCreator {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }) => {
      // `timestamp` and `logger` are kafkajs' own decoration; pino adds its own.
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      const bindings = { namespace, ...fields };
      if (isRequestErrorResponse(namespace, message) || EXPECTED_WARNINGS.has(message)) log.debug(bindings, message);
      else if (level === logLevel.ERROR) log.error(bindings, message);
      else if (level === logLevel.WARN) log.warn(bindings, message);
      else log.debug(bindings, message);
    };
}
