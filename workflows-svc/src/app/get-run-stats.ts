import type { Clock, RunStats, Store } from '@wf/shared';

/** The overview's two windows: the last hour by minute, the last day by quarter hour. */
export const STATS_WINDOWS = {
  hour: { spanMs: 3_600_000, bucketMs: 60_000 },
  day: { spanMs: 86_400_000, bucketMs: 900_000 },
} as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** How many workflows the busiest and most failing lists name. */
const TOP = 5;

export interface WindowStats extends RunStats {
  from: Date;
  to: Date;
  bucketMs: number;
  /** Failed among the finished runs of the window; null when none finished. */
  failureRate: number | null;
}

/** The caller's run aggregates over each window, each computed by the store. */
export class GetRunStats {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async execute(ownerId: string): Promise<Record<StatsWindow, WindowStats>> {
    const now = this.clock.now().getTime();
    const entries = await Promise.all(
      (Object.entries(STATS_WINDOWS) as [StatsWindow, (typeof STATS_WINDOWS)[StatsWindow]][]).map(async ([name, { spanMs, bucketMs }]) => {
        // Whole buckets, the last one holding now, so a chart's bars line up with the clock.
        const to = new Date((Math.floor(now / bucketMs) + 1) * bucketMs);
        const from = new Date(to.getTime() - spanMs);
        const stats = await this.store.executions.runStats(ownerId, { from, to, bucketMs, top: TOP });
        const finished = stats.totals.completed + stats.totals.failed;
        return [name, { ...stats, from, to, bucketMs, failureRate: finished ? stats.totals.failed / finished : null }] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<StatsWindow, WindowStats>;
  }
}
