export interface BackoffOptions {
  /** The first pause. */
  initialMs: number;
  /** The longest pause: how late, at worst, a loop notices that its dependency is back. */
  maxMs: number;
}

/** Retrying a store or broker that is away: quick at first, then every 2 s. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { initialMs: 200, maxMs: 2_000 };

/**
 * Pauses that double from `initialMs` up to `maxMs`, each shortened by up to a fifth at random
 * so that many processes waiting for the same server do not retry in step.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The pause before the next attempt; each call counts one more failure. */
  next(): number {
    const ms = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures += 1;
    return Math.round(ms * (1 - 0.2 * this.random()));
  }

  reset(): void {
    this.failures = 0;
  }
}

/** A pause that ends early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
