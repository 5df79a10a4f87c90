/**
 * How many deliveries of each execution attempt's request failed on this runner, so that a
 * request whose handling keeps throwing is given up after `maxDeliveries` instead of being
 * redelivered for ever while it holds its partition.
 *
 * Kept in memory: a restart, or the partition moving to another runner, starts the count
 * again, so the bound holds per runner, which is what freeing the partition needs. The
 * oldest entries are forgotten past `capacity` (requests that stopped coming: their run
 * was taken over elsewhere).
 */
export class DeliveryBudget {
  private readonly entries = new Map<string, { failures: number; gaveUp?: string }>();

  constructor(
    readonly maxDeliveries: number,
    private readonly capacity = 10_000,
  ) {}

  /** Counts a failed delivery; true once `maxDeliveries` of them have failed. */
  spent(executionId: string, attempt: number): boolean {
    const key = keyOf(executionId, attempt);
    const failures = (this.entries.get(key)?.failures ?? 0) + 1;
    this.set(key, { failures });
    return failures >= this.maxDeliveries;
  }

  /** Remembers why the request was given up, for `gaveUp`. */
  giveUp(executionId: string, attempt: number, reason: string): void {
    const key = keyOf(executionId, attempt);
    this.set(key, { failures: this.entries.get(key)?.failures ?? this.maxDeliveries, gaveUp: reason });
  }

  /**
   * Why the request was given up, if it was: a redelivery of it (its dead-lettering failed,
   * or another event of its batch failed) is dead-lettered again without being handled.
   */
  gaveUp(executionId: string, attempt: number): string | undefined {
    return this.entries.get(keyOf(executionId, attempt))?.gaveUp;
  }

  /** The request was handled: its count starts again. */
  handled(executionId: string, attempt: number): void {
    this.entries.delete(keyOf(executionId, attempt));
  }

  private set(key: string, entry: { failures: number; gaveUp?: string }): void {
    this.entries.delete(key); // re-inserted last: the map's order is from least to most recently touched
    this.entries.set(key, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

const keyOf = (executionId: string, attempt: number) => `${executionId}#${attempt}`;
