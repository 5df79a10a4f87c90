import { IDEMPOTENCY_WINDOW_MS, type Clock, type IdempotencyRepo, type Logger } from '@wf/shared';

export interface IdempotencyPurgeOptions {
  /** Least time between two purges. */
  everyMs: number;
  /** Keys deleted per statement. */
  batchSize: number;
}

export const DEFAULT_IDEMPOTENCY_PURGE_OPTIONS: IdempotencyPurgeOptions = { everyMs: 60_000, batchSize: 10_000 };

/**
 * Deletes idempotency keys past their window: nothing reads them any more, and without this
 * PostgreSQL and the memory store would keep every key ever sent (MongoDB also has a TTL index).
 */
export class IdempotencyPurge {
  private lastRun = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: { idempotency: IdempotencyRepo; clock: Clock; logger: Logger },
    private readonly options: IdempotencyPurgeOptions = DEFAULT_IDEMPOTENCY_PURGE_OPTIONS,
  ) {}

  /** Purges when `everyMs` has passed since the last purge; returns how many keys went. */
  async runOnce(): Promise<number> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastRun < this.options.everyMs) return 0;
    this.lastRun = now;
    const before = new Date(now - IDEMPOTENCY_WINDOW_MS);
    let purged = 0;
    for (;;) {
      const n = await this.deps.idempotency.purgeExpired(before, this.options.batchSize);
      purged += n;
      if (n < this.options.batchSize) break;
    }
    if (purged > 0) this.deps.logger.debug({ purged }, 'purged expired idempotency keys');
    return purged;
  }
}
