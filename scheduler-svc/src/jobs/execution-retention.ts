import type { Clock, ExecutionRepo, Logger, RunLimit, WorkflowRepo } from '@wf/shared';

export interface ExecutionRetentionOptions {
  /** How long a finished run is kept after it finished (`EXECUTION_RETENTION`). */
  retentionMs: number;
  /** Least time between two passes. */
  everyMs: number;
  /** Runs deleted per statement: small, so that no deletion holds locks a trigger waits on for long. */
  batchSize: number;
  /** Statements per pass at most; what is left waits for the next pass. */
  maxBatches: number;
}

export const DEFAULT_EXECUTION_RETENTION_OPTIONS: Omit<ExecutionRetentionOptions, 'retentionMs'> = { everyMs: 60_000, batchSize: 500, maxBatches: 200 };

/** The default `EXECUTION_RETENTION`: 30 days. */
export const DEFAULT_EXECUTION_RETENTION_MS = 30 * 24 * 3600 * 1000;

export interface ExecutionRetentionReport {
  expired: number;
  beyondMaxRuns: number;
}

/**
 * Deletes history: finished runs (completed, failed, cancelled) that finished longer than
 * the retention period ago, and those of a workflow with `retention.maxRuns` beyond its
 * newest runs. Runs that have not finished are never deleted. Each deletion is one short
 * statement of at most `batchSize` runs outside any unit of work (PostgreSQL skips rows
 * another writer holds), so triggers, runners and the scheduler's claims never wait behind a
 * purge; a pass stops after `maxBatches` statements and the next one goes on.
 */
export class ExecutionRetention {
  private lastRun = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: { executions: ExecutionRepo; workflows: WorkflowRepo; clock: Clock; logger: Logger },
    private readonly options: ExecutionRetentionOptions,
  ) {}

  /** Purges when `everyMs` has passed since the last pass; returns what went. */
  async runOnce(): Promise<ExecutionRetentionReport> {
    const report: ExecutionRetentionReport = { expired: 0, beyondMaxRuns: 0 };
    const now = this.deps.clock.now().getTime();
    if (now - this.lastRun < this.options.everyMs) return report;
    this.lastRun = now;
    const { batchSize } = this.options;
    let budget = this.options.maxBatches;
    const before = new Date(now - this.options.retentionMs);
    while (budget-- > 0) {
      const n = await this.deps.executions.purgeFinished(before, batchSize);
      report.expired += n;
      if (n < batchSize) break;
    }
    let after: RunLimit | undefined;
    while (budget > 0) {
      const page = await this.deps.workflows.withRunLimit(after, 100);
      for (const w of page) {
        while (budget-- > 0) {
          const n = await this.deps.executions.purgeBeyond(w.ownerId, w.workflowId, w.maxRuns, batchSize);
          report.beyondMaxRuns += n;
          if (n < batchSize) break;
        }
      }
      if (page.length < 100) break;
      after = page.at(-1);
    }
    if (report.expired + report.beyondMaxRuns > 0) this.deps.logger.info({ ...report }, 'deleted finished runs past their retention');
    return report;
  }
}
