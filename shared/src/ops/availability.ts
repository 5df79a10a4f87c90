import { UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.js';
import type { Metrics } from './metrics.js';

export interface AvailabilityOptions {
  /** What is watched: named in the log lines and in the metrics' `dependency` label. */
  dependency: string;
  logger: Logger;
  metrics?: Metrics;
  backoff?: BackoffOptions;
  /** Milliseconds since the epoch; tests pass a fake clock's. */
  now?: () => number;
}

/**
 * One process's view of whether a dependency (the store) answers. The loops that use it report
 * each failure and success; while it is away they pause for `retryDelayMs()` between tries,
 * which grows up to the backoff's maximum. The first failure of an outage logs one line and is
 * counted in `/metrics`; the first success after it logs one line saying how long it lasted.
 * Nothing in between is logged, however many loops keep trying.
 */
export class Availability {
  private downSince: number | undefined;
  private readonly backoff: Backoff;
  private readonly now: () => number;

  constructor(private readonly options: AvailabilityOptions) {
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.now = options.now ?? Date.now;
    options.metrics?.dependencyUp.set({ dependency: options.dependency }, 1);
  }

  get available(): boolean {
    return this.downSince === undefined;
  }

  /**
   * Records a failure. True when `err` is an `UnavailableError` (the dependency is away: the
   * caller should pause and try again); false for any other error, which is the caller's to
   * report.
   */
  failed(err: unknown): boolean {
    if (!(err instanceof UnavailableError)) return false;
    if (this.downSince === undefined) {
      const { dependency, logger, metrics } = this.options;
      this.downSince = this.now();
      logger.warn({ dependency, err }, `the ${dependency} is unreachable; work pauses until it answers again`);
      metrics?.dependencyOutages.inc({ dependency });
      metrics?.dependencyUp.set({ dependency }, 0);
    }
    return true;
  }

  /** Records a success: ends the outage, if there was one. */
  succeeded(): void {
    this.backoff.reset();
    if (this.downSince === undefined) return;
    const { dependency, logger, metrics } = this.options;
    const downForMs = this.now() - this.downSince;
    this.downSince = undefined;
    logger.info({ dependency, downForMs }, `the ${dependency} answers again; work resumes`);
    metrics?.dependencyUp.set({ dependency }, 1);
  }

  /** The pause before the next try while the dependency is away. */
  retryDelayMs(): number {
    return this.backoff.next();
  }

  /**
   * Calls `probe` until it succeeds, pausing with backoff between tries; resolves false if
   * `signal` aborts first. For a consumer that stopped taking work and must know when to resume.
   */
  async waitUntilAvailable(probe: () => Promise<unknown>, signal?: AbortSignal): Promise<boolean> {
    while (!signal?.aborted) {
      await sleep(this.retryDelayMs(), signal);
      if (signal?.aborted) break;
      try {
        await probe();
        this.succeeded();
        return true;
      } catch (err) {
        if (!this.failed(err)) this.options.logger.debug({ err, dependency: this.options.dependency }, `probing the ${this.options.dependency} failed`);
      }
    }
    return false;
  }
}
