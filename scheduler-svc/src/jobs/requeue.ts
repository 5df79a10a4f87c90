import { executionRequestedMessage, type Clock, type Execution, type Logger, type Repos, type Store, type Topics } from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';

export interface RequeueReport {
  requeued: number;
}

type RequeueJobDeps = { store: Store; clock: Clock; logger: Logger; topics: Topics; metrics?: Metrics };

/**
 * Executions requeued per unit of work. A transaction that also writes what a runner, a user
 * or another scheduler writes meanwhile is aborted whole (MongoDB aborts on the first write
 * conflict) and run again: small ones keep that cost, and the time they hold anything, small.
 */
export const REQUEUE_PER_TRANSACTION = 16;

/**
 * Moves executions back to `queued` and re-emits them, each claim and its outbox messages
 * in one unit of work so an execution is never queued without its message; claims of at most
 * `batchSize` (and REQUEUE_PER_TRANSACTION) executions each, until none is left.
 */
abstract class RequeueJob {
  constructor(
    protected readonly deps: RequeueJobDeps,
    protected readonly options: { batchSize: number },
  ) {}

  protected abstract claim(tx: Repos, limit: number): Promise<Execution[]>;
  protected abstract onRequeued(tx: Repos, execution: Execution, now: Date): Promise<void>;

  async runOnce(): Promise<RequeueReport> {
    const limit = Math.min(this.options.batchSize, REQUEUE_PER_TRANSACTION);
    let requeued = 0;
    for (;;) {
      const now = this.deps.clock.now();
      const batch = await this.deps.store.uow.run(async (tx) => {
        const claimed = await this.claim(tx, limit);
        for (const execution of claimed) {
          await this.onRequeued(tx, execution, now);
          await tx.outbox.add(executionRequestedMessage(execution, this.deps.topics, now));
        }
        return claimed;
      });
      requeued += batch.length;
      for (const execution of batch) this.deps.logger.info({ executionId: execution.executionId, attempt: execution.attempt, job: this.constructor.name }, 'execution requeued');
      if (batch.length < limit) return { requeued };
    }
  }
}

/** Failed runs whose backoff has elapsed: the next attempt is queued, the workflow is busy again. */
export class DueRetries extends RequeueJob {
  protected claim(tx: Repos, limit: number) {
    return tx.executions.requeueDueRetries(limit);
  }
  protected async onRequeued(tx: Repos, execution: Execution, now: Date) {
    await tx.workflows.setTriggerStatus(execution.ownerId, execution.workflowId, execution.executionId, ['pending'], 'busy', now);
  }
}

/**
 * Runs parked at a delay whose time has come: queued again on the same attempt (the workflow
 * stayed busy while they waited), to resume at the delay step. How late they resume is
 * measured as for scheduled runs.
 */
export class DueWaits extends RequeueJob {
  protected claim(tx: Repos, limit: number) {
    return tx.executions.resumeDueWaits(limit);
  }
  protected async onRequeued(_tx: Repos, e: Execution, now: Date) {
    if (e.nextAttemptAt) this.deps.metrics?.schedulerLateness.observe(Math.max(0, now.getTime() - e.nextAttemptAt.getTime()) / 1000);
  }
}

/** Runs whose runner died (lease expired): queued again on the same attempt; the workflow stays busy. */
export class ExpiredLeases extends RequeueJob {
  protected claim(tx: Repos, limit: number) {
    return tx.executions.requeueExpiredLeases(limit);
  }
  protected async onRequeued() {}
}

/**
 * Runs still queued `queuedForMs` after their request was written, although the relay has
 * sent it: the message was lost on the way (topic recreated, retention, consumer group
 * reset), so no runner would ever take them and their workflow would stay busy. Their
 * request is sent again, on the same attempt, at most once per `queuedForMs`; a runner that
 * got the first one after all skips the second (its claim of the run fails). Runners may be
 * claiming these very runs at that moment (a slow request is not a lost one): one more
 * reason for small units of work.
 */
export class LostRequests extends RequeueJob {
  constructor(deps: RequeueJobDeps, protected override readonly options: { batchSize: number; queuedForMs: number }) {
    super(deps, options);
  }
  protected claim(tx: Repos, limit: number) {
    return tx.executions.requeueStaleQueued(this.options.queuedForMs, limit);
  }
  protected async onRequeued() {}
}
