/**
 * At most `limit` tasks at a time, across every caller: the others wait their turn, first
 * come first served. The runner's handler calls for different partitions share one.
 */
export class Permits {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // A waiting task takes the permit over; `active` counts it already.
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
