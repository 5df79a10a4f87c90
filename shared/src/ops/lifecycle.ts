import type { Logger } from '../logger.js';

export interface RunningService {
  /** Stops taking work, finishes or hands back what is in flight, closes connections. */
  stop(): Promise<void>;
}

export interface ServiceProcessOptions {
  name: string;
  logger: Logger;
  /** The longest a graceful shutdown may take before the process exits anyway. */
  shutdownTimeoutMs?: number;
  start(): Promise<RunningService>;
}

/**
 * Runs one long-lived service in this process: starts it, stops it gracefully on SIGTERM
 * or SIGINT within a bounded time, and exits non-zero when start-up fails or an error
 * escapes (after a best-effort stop), so a supervisor restarts it.
 */
export async function runServiceProcess({ name, logger, start, shutdownTimeoutMs = 25_000 }: ServiceProcessOptions): Promise<void> {
  let service: RunningService | undefined;
  let stopping: Promise<void> | undefined;

  const shutdown = (reason: string, exitCode: number) => {
    if (stopping) return stopping;
    logger.info({ reason }, `${name} shutting down`);
    const timer = setTimeout(() => {
      logger.error({ shutdownTimeoutMs }, `${name} did not stop in time; exiting`);
      process.exit(exitCode || 1);
    }, shutdownTimeoutMs);
    timer.unref();
    stopping = (async () => {
      try {
        await service?.stop();
        logger.info(`${name} stopped`);
      } catch (err) {
        logger.error({ err }, `${name} failed to stop cleanly`);
        exitCode ||= 1;
      } finally {
        clearTimeout(timer);
        logger.flush?.();
        process.exit(exitCode);
      }
    })();
    return stopping;
  };

  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    void shutdown('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    void shutdown('unhandledRejection', 1);
  });

  try {
    service = await start();
    logger.info(`${name} started`);
  } catch (err) {
    logger.fatal({ err }, `${name} failed to start`);
    await shutdown('start-up failed', 1);
  }
}
