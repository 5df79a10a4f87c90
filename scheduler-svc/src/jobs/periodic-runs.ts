import { acceptRun, nextRunAfter, WorkflowBusyError, type Clock, type Logger, type Metrics, type Store, type Topics, type Workflow } from '@wf/shared';
import { mapConcurrent } from './concurrency.js';

export interface PeriodicRunsOptions {
  /** Workflows claimed per query. */
  batchSize: number;
  /** How long a claim keeps other schedulers off a workflow. */
  leaseMs: number;
  /** Units of work in flight at once within a batch. */
  concurrency: number;
}

export interface PeriodicRunsReport {
  emitted: number;
  skippedBusy: number;
  lost: number;
  errors: number;
}

type Outcome = 'emitted' | 'skippedBusy' | 'lost';

/**
 * Emits the due runs of periodic and cron workflows. A claim (lease) keeps a second
 * scheduler off the workflow; the compare-and-set on `nextRunAt` inside the unit of work
 * guarantees a due time is emitted at most once even if a lease expires mid-flight.
 */
export class PeriodicRuns {
  constructor(
    private readonly deps: { store: Store; clock: Clock; logger: Logger; topics: Topics; metrics?: Metrics },
    private readonly options: PeriodicRunsOptions,
  ) {}

  async runOnce(): Promise<PeriodicRunsReport> {
    const report: PeriodicRunsReport = { emitted: 0, skippedBusy: 0, lost: 0, errors: 0 };
    for (;;) {
      const now = this.deps.clock.now();
      const claimed = await this.deps.store.workflows.claimDueScheduled(now, this.options.leaseMs, this.options.batchSize);
      await mapConcurrent(claimed, this.options.concurrency, async (wf) => {
        try {
          const outcome = await this.emit(wf);
          report[outcome] += 1;
          this.deps.metrics?.scheduledRuns.inc({ outcome: outcome === 'skippedBusy' ? 'skipped_busy' : outcome });
        } catch (err) {
          report.errors += 1;
          this.deps.logger.error({ err, workflowId: wf.workflowId, ownerId: wf.ownerId }, 'failed to emit a due run');
        }
      });
      if (claimed.length < this.options.batchSize) return report;
    }
  }

  private async emit(wf: Workflow): Promise<Outcome> {
    const dueAt = wf.trigger.nextRunAt;
    if (!dueAt) return 'lost';
    const now = this.deps.clock.now();
    const next = nextRunAfter(wf.trigger, now, dueAt);
    const outcome = await this.deps.store.uow.run(async (tx): Promise<Outcome> => {
      if (!(await tx.workflows.advanceSchedule(wf.ownerId, wf.workflowId, dueAt, next))) return 'lost';
      try {
        await acceptRun(tx, wf, { type: wf.trigger.type === 'cron' ? 'cron' : 'periodic', firedAt: now, scheduledFor: dueAt }, this.deps.topics, now);
        return 'emitted';
      } catch (err) {
        // Still running from an earlier due time: this one is skipped, the schedule still moves on.
        if (err instanceof WorkflowBusyError) return 'skippedBusy';
        throw err;
      }
    });
    if (outcome === 'emitted') this.deps.metrics?.schedulerLateness.observe((now.getTime() - dueAt.getTime()) / 1000);
    if (outcome === 'skippedBusy') this.deps.logger.info({ workflowId: wf.workflowId, dueAt }, 'due run skipped: workflow still busy');
    return outcome;
  }
}
