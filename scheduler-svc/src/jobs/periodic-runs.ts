import { acceptRun, dueSlot, isScheduled, UnavailableError, WorkflowBusyError, type Logger, type Repos, type Store, type Topics, type Workflow } from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';
import { mapConcurrent } from './concurrency.js';

export interface PeriodicRunsOptions {
  /** Workflows claimed per query. */
  batchSize: number;
  /** How long a claim keeps other schedulers off a workflow. */
  leaseMs: number;
  /** Units of work in flight at once within a batch. */
  concurrency: number;
  /** Due runs written per unit of work (one commit for many runs when many fall due together). */
  groupSize?: number;
}

export interface PeriodicRunsReport {
  emitted: number;
  skippedBusy: number;
  /** Due times acted on too late to run (the scheduler or its store was down) with `catchUp: "none"`. */
  missed: number;
  /** Due runs of `overlap: queue` workflows held until the run in progress ends. */
  waiting: number;
  lost: number;
  errors: number;
}

type Outcome = 'emitted' | 'skippedBusy' | 'missed' | 'waiting' | 'lost';
/** What happened to a workflow's due time, and which due time a run was accepted for. */
type Emitted = { outcome: Outcome; scheduledFor?: Date };

const DEFAULT_GROUP_SIZE = 50;

/**
 * Emits the due runs of periodic and cron workflows. A claim (lease) keeps a second
 * scheduler off the workflow; the compare-and-set on `nextRunAt` inside the unit of work
 * guarantees a due time is emitted at most once even if a lease expires mid-flight.
 *
 * The runs claimed together are written in groups, one unit of work per group; if a group
 * fails, each of its workflows is retried in a unit of work of its own, so one bad
 * workflow cannot hold back the others.
 */
export class PeriodicRuns {
  constructor(
    private readonly deps: { store: Store; logger: Logger; topics: Topics; metrics?: Metrics },
    private readonly options: PeriodicRunsOptions,
  ) {}

  /** Store time just before the last claim: everything due up to it has been taken; what falls due after is the next pass's. */
  claimedUpTo: Date | undefined;

  /** Emits everything due now. */
  async runOnce(): Promise<PeriodicRunsReport> {
    const report: PeriodicRunsReport = { emitted: 0, skippedBusy: 0, missed: 0, waiting: 0, lost: 0, errors: 0 };
    const groupSize = this.options.groupSize ?? DEFAULT_GROUP_SIZE;
    for (;;) {
      // Due times are the store's (see ports/repos.ts): computed from its clock, not this process's.
      const now = await this.deps.store.now();
      this.claimedUpTo = now;
      const claimed = await this.deps.store.workflows.claimDueScheduled(this.options.leaseMs, this.options.batchSize);
      const groups = Array.from({ length: Math.ceil(claimed.length / groupSize) }, (_, i) => claimed.slice(i * groupSize, (i + 1) * groupSize));
      const waitingBefore = report.waiting;
      await mapConcurrent(groups, this.options.concurrency, async (group) => {
        for (const [wf, outcome] of await this.emitGroup(group, now)) this.record(report, wf, outcome, now);
      });
      // A held run is due again at once and would head the next claim: the next pass takes it.
      if (claimed.length < this.options.batchSize || report.waiting > waitingBefore) return report;
    }
  }

  private async emitGroup(group: Workflow[], now: Date): Promise<[Workflow, Emitted | Error][]> {
    try {
      return await this.deps.store.uow.run(async (tx) => {
        const outcomes: [Workflow, Emitted][] = [];
        for (const wf of group) outcomes.push([wf, await this.emit(tx, wf, now)]);
        return outcomes;
      });
    } catch (err) {
      // The store is away: every workflow would meet the same. The pass ends; the loop backs off.
      if (err instanceof UnavailableError) throw err;
      if (group.length === 1) return [[group[0]!, asError(err)]];
      const one = async (wf: Workflow): Promise<[Workflow, Emitted | Error]> => {
        try {
          return [wf, await this.deps.store.uow.run((tx) => this.emit(tx, wf, now))];
        } catch (e) {
          if (e instanceof UnavailableError) throw e;
          return [wf, asError(e)];
        }
      };
      const outcomes: [Workflow, Emitted | Error][] = [];
      for (const wf of group) outcomes.push(await one(wf));
      return outcomes;
    }
  }

  private async emit(tx: Repos, wf: Workflow, now: Date): Promise<Emitted> {
    const { trigger } = wf;
    const dueAt = trigger.nextRunAt;
    if (!dueAt || !isScheduled(trigger)) return { outcome: 'lost' };
    const queues = 'overlap' in trigger && trigger.overlap === 'queue';
    // `queue`: while a run is in progress the due time stays where it is (only the claim is
    // released), so the run waits and is claimed again on the next pass; the due times that
    // pass meanwhile fold into it, so at most one run waits behind the running one.
    if (queues && trigger.status !== 'idle') {
      return { outcome: (await tx.workflows.advanceSchedule(wf.ownerId, wf.workflowId, dueAt, dueAt)) ? 'waiting' : 'lost' };
    }
    // Strictly after the due time, even if `now` (read before the claim) is not yet past it (dueSlot).
    const slot = dueSlot(trigger, dueAt, now);
    if (!(await tx.workflows.advanceSchedule(wf.ownerId, wf.workflowId, dueAt, slot.next))) return { outcome: 'lost' };
    // A run that waited (`queue`) runs however long it waited, for the latest due time.
    const runFor = slot.runFor ?? (queues ? slot.latest : undefined);
    if (!runFor) return { outcome: 'missed', scheduledFor: slot.latest };
    try {
      await acceptRun(tx, wf, { type: trigger.type === 'cron' ? 'cron' : 'periodic', firedAt: now, scheduledFor: runFor }, this.deps.topics, now);
      return { outcome: 'emitted', scheduledFor: runFor };
    } catch (err) {
      if (!(err instanceof WorkflowBusyError)) throw err;
      // A run started since the claim (a manual trigger): `queue` puts the due time back and waits…
      if (queues) return { outcome: (await tx.workflows.advanceSchedule(wf.ownerId, wf.workflowId, slot.next, dueAt)) ? 'waiting' : 'lost' };
      // …`skip`: this due time is skipped (acceptRun wrote nothing), the schedule still moves on.
      return { outcome: 'skippedBusy' };
    }
  }

  private record(report: PeriodicRunsReport, wf: Workflow, emitted: Emitted | Error, now: Date): void {
    const { logger, metrics } = this.deps;
    if (emitted instanceof Error) {
      report.errors += 1;
      logger.error({ err: emitted, workflowId: wf.workflowId, ownerId: wf.ownerId }, 'failed to emit a due run');
      return;
    }
    const { outcome, scheduledFor } = emitted;
    report[outcome] += 1;
    if (outcome !== 'waiting') metrics?.scheduledRuns.inc({ outcome: outcome === 'skippedBusy' ? 'skipped_busy' : outcome });
    if (outcome === 'emitted') metrics?.executionsAccepted.inc({ trigger: wf.trigger.type === 'cron' ? 'cron' : 'periodic' });
    if (outcome === 'emitted' && scheduledFor) metrics?.schedulerLateness.observe(Math.max(0, now.getTime() - scheduledFor.getTime()) / 1000);
    if (outcome === 'skippedBusy') logger.info({ workflowId: wf.workflowId, dueAt: wf.trigger.nextRunAt }, 'due run skipped: workflow still busy');
    if (outcome === 'missed') {
      logger.warn({ workflowId: wf.workflowId, ownerId: wf.ownerId, missedFrom: wf.trigger.nextRunAt, missedUntil: scheduledFor }, 'due run missed: acted on too late; catchUp is "none"');
    }
  }
}

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));
