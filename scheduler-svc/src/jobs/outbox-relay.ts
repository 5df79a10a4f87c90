import type { Clock, EventPublisher, Logger, OutboxMessage, OutboxRepo } from '@wf/shared';
import type { Availability, Metrics } from '@wf/shared/ops';

export interface OutboxRelayOptions {
  batchSize: number;
  /** How long a claimed batch stays locked to this relay. */
  lockMs: number;
  /**
   * Pause after a partial batch, so that under a steady trickle the next pass carries many
   * messages instead of one (Kafka's linger.ms, one level up): fewer claims, produce
   * requests and commits per message, at the price of at most this much latency.
   */
  lingerMs: number;
  /** Sleep when there was nothing to publish, growing to `maxIdleDelayMs`. */
  idleDelayMs: number;
  maxIdleDelayMs: number;
  /** Published messages are kept this long, then purged. */
  retentionMs: number;
}

export const DEFAULT_RELAY_OPTIONS: OutboxRelayOptions = {
  batchSize: 500,
  lockMs: 30_000,
  lingerMs: 10,
  idleDelayMs: 20,
  maxIdleDelayMs: 250,
  retentionMs: 3_600_000,
};

/**
 * Publishes the outbox to the broker: claim a batch, publish it, mark it published only
 * once the broker acknowledged. A failed publish leaves the batch pending (its attempt and
 * error recorded) and backs off; the next pass retries it. At-least-once by design.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private lastPurge = 0;

  constructor(
    private readonly deps: { outbox: OutboxRepo; publisher: EventPublisher; clock: Clock; logger: Logger; metrics?: Metrics; availability?: Availability },
    private readonly options: OutboxRelayOptions = DEFAULT_RELAY_OPTIONS,
  ) {}

  /** One pass: returns how many messages were published (0 when idle or on failure). */
  async runOnce(): Promise<{ published: number; failed: number }> {
    const { outbox, publisher, logger, metrics } = this.deps;
    let failure: { err: unknown; count: number } | undefined;
    const publish = async (batch: OutboxMessage[]) => {
      try {
        await publisher.publish(batch.map((m) => ({ topic: m.topic, key: m.key, event: m.event })));
      } catch (err) {
        failure = { err, count: batch.length };
        throw err;
      }
    };
    let claimed: number;
    let marked: number;
    try {
      ({ claimed, marked } = await outbox.relay(this.options.lockMs, this.options.batchSize, publish));
    } catch (err) {
      if (!failure) throw err; // the store failed: the pass fails
      // The store kept the batch pending, its attempt and error recorded (only what this relay still held).
      logger.warn({ err: failure.err, count: failure.count }, 'outbox publish failed; will retry');
      metrics?.outboxPublishFailures.inc();
      return { published: 0, failed: failure.count };
    }
    if (marked < claimed) {
      // Harmless (consumers are idempotent) but wasteful: the lock is shorter than a publish takes.
      logger.warn({ count: claimed - marked, lockMs: this.options.lockMs }, 'outbox lock expired mid-publish: another relay claimed these messages and publishes them again');
    }
    metrics?.outboxPublished.inc(claimed);
    return { published: claimed, failed: 0 };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Wakes an idle relay at once (a run was just accepted in this process). */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let delay = this.options.idleDelayMs;
    while (this.running) {
      let result = { published: 0, failed: 0 };
      try {
        result = await this.runOnce();
        await this.purge();
        this.deps.availability?.succeeded();
      } catch (err) {
        // The store is away: pause as the other loops do, without a log line per pass.
        if (this.deps.availability?.failed(err)) {
          await this.sleep(this.deps.availability.retryDelayMs());
          continue;
        }
        this.deps.logger.error({ err }, 'outbox relay pass failed');
        result.failed = 1;
      }
      if (result.published >= this.options.batchSize) {
        delay = this.options.idleDelayMs;
        continue; // more is waiting
      }
      // Idle or failing: back off (exponentially when failing, so a dead broker is not hammered).
      delay = result.published > 0 ? this.options.idleDelayMs : Math.min(this.options.maxIdleDelayMs * (result.failed ? 20 : 1), delay * 2);
      await this.sleep(result.published > 0 ? this.options.lingerMs : delay);
    }
  }

  private async purge(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    const purged = await this.deps.outbox.purgePublished(new Date(now - this.options.retentionMs), 10_000);
    if (purged > 0) this.deps.logger.debug({ purged }, 'purged published outbox messages');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
