import { UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Bus } from '../ports/bus.js';
import type { Store } from '../ports/repos.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.js';
import type { ReadinessCheck } from './ops-server.js';


/** Start-up gave up: what it waited for did not answer within `STARTUP_TIMEOUT`. */
export class StartupTimeoutError extends Error {
  constructor(
    readonly waitedFor: string,
    readonly timeoutMs: number,
    override readonly cause: unknown,
  ) {
    super(`${waitedFor} did not answer within STARTUP_TIMEOUT (${Math.round(timeoutMs / 1000)}s): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StartupTimeoutError';
  }
}

/**
 * What `/readyz` reports until the service has started: "starting", then what it is waiting
 * for. Its `check` fails until `open()`.
 */
export class StartupGate {
  private state = 'starting';
  private opened = false;

  readonly check: ReadinessCheck = async () => {
    if (!this.opened) throw new Error(this.state);
  };

  waitingFor(what: string): void {
    this.state = `waiting for ${what}`;
  }

  open(): void {
    this.opened = true;
  }

  get isOpen(): boolean {
    return this.opened;
  }
}

export interface StartupOptions {
  logger: Logger;
  /** When to give up, in milliseconds since the epoch (start-up time + `STARTUP_TIMEOUT`). */
  deadline: number;
  /** Told what is awaited, for `/readyz`. */
  gate?: StartupGate;
  backoff?: BackoffOptions;
  /** Aborted when the service is told to stop while it waits. */
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it succeeds. While it fails with `UnavailableError` (the server is not
 * there yet), waits with backoff and tries again, logging once when the wait starts and once
 * when it ends. Any other error ends start-up at once: a wrong password or a failed migration
 * does not heal by waiting. Past the deadline it throws `StartupTimeoutError`, naming what it
 * waited for and the last error.
 */
export async function waitUntilReachable<T>(what: string, attempt: () => Promise<T>, options: StartupOptions): Promise<T> {
  const { logger, deadline, gate, signal } = options;
  const backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
  const started = Date.now();
  let waiting = false;
  gate?.waitingFor(what);
  for (;;) {
    try {
      const result = await attempt();
      if (waiting) logger.info({ waitedMs: Date.now() - started }, `${what} answers; start-up continues`);
      return result;
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      const pause = backoff.next();
      if (signal?.aborted) throw err;
      if (Date.now() + pause > deadline) throw new StartupTimeoutError(what, deadline - started, err);
      if (!waiting) {
        waiting = true;
        logger.warn({ err: err.message, deadline: new Date(deadline).toISOString() }, `${what} does not answer; waiting for it`);
      }
      await sleep(pause, signal);
    }
  }
}

/**
 * Readies what a service needs before it takes work, waiting for each as `waitUntilReachable`
 * does: the store's schema (migrations, indexes), then the broker's topics.
 */
export async function prepareDependencies(
  deps: { store: Store; bus?: Bus; topics?: readonly string[] },
  options: StartupOptions,
): Promise<void> {
  await waitUntilReachable('the store', () => deps.store.init(), options);
  const { bus, topics } = deps;
  if (bus && topics) await waitUntilReachable('the broker', () => bus.ensureTopics(topics), options);
}
