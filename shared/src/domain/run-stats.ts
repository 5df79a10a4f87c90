import type { ExecutionStatus } from './execution.js';

/** Conditions on a list of runs; each one given must hold. */
export interface RunFilter {
  workflowId?: string;
  /** Any of these statuses. */
  statuses?: readonly ExecutionStatus[];
  /** Created at or after. */
  createdFrom?: Date;
  /** Created strictly before. */
  createdBefore?: Date;
}

/** A run as a workflow's outcome strip shows it. */
export interface RecentRun {
  executionId: string;
  status: ExecutionStatus;
  createdAt: Date;
  finishedAt?: Date;
}

export interface RunStatsQuery {
  from: Date;
  to: Date;
  /** Width of a bucket of `RunStats.buckets`, counted from `from`. */
  bucketMs: number;
  /** How many workflows `busiest` and `mostFailing` name. */
  top: number;
}

export type StatusCounts = Record<ExecutionStatus, number>;

export interface RunStats {
  /** Runs created in the window by their status now, per bucket; buckets without runs are left out. Ascending. */
  buckets: { start: Date; counts: StatusCounts }[];
  /** The same counts over the whole window. */
  totals: StatusCounts;
  /**
   * From first start (else creation) to finish, of the runs created in the window that have
   * finished; nearest-rank percentiles (a value that occurred). Null when none finished.
   */
  durationMs: { p50: number; p95: number } | null;
  /** Most runs first, then by workflowId. */
  busiest: { workflowId: string; runs: number }[];
  /** Most `failed` runs first (only workflows with at least one), then by workflowId. */
  mostFailing: { workflowId: string; failed: number; runs: number }[];
  /** Runs of the owner in `pending_retry` now, whenever created. */
  waitingForRetry: number;
}

export const emptyStatusCounts = (): StatusCounts => ({ queued: 0, running: 0, waiting: 0, pending_retry: 0, completed: 0, failed: 0, cancelled: 0 });

/** Nearest-rank percentile (`p` in 0..1) of ascending `sorted` values: the value at rank ⌈p·n⌉. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('no values');
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}
