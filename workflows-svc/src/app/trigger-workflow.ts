import {
  ConflictError,
  IDEMPOTENCY_WINDOW_MS,
  NotFoundError,
  acceptRun,
  executionRequestedMessage,
  newExecution,
  newId,
  sameRevision,
  WorkflowBusyError,
  type ExecutionTrigger,
  type GroupCommit,
  type Clock,
  type IdempotentRun,
  type ExecutionStatus,
  type Repos,
  type RunAcceptance,
  type UnitOfWork,
  type Topics,
  type Workflow,
} from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';
import { hookSecretMatches } from './hook-secrets.js';
import { RecentWorkflows } from './recent-workflows.js';
import { workflowNotFound } from './workflow-definition.js';

export { IDEMPOTENCY_WINDOW_MS }; // moved to @wf/shared: the stores expire keys past it

/** Which workflow to run: the caller's own by id, or whichever one owns a hook. */
export type TriggerTarget =
  | { kind: 'owned'; ownerId: string; workflowId: string }
  | { kind: 'hook'; hookId: string; secret: string };

export interface TriggerRequest {
  target: TriggerTarget;
  /** A JSON object from the request body; the actions can reference it. */
  payload?: Record<string, unknown>;
  idempotencyKey?: string;
}

export interface TriggerResult {
  executionId: string;
  status: ExecutionStatus;
  /** True when an earlier request with the same idempotency key created the run. */
  replayed: boolean;
}

/** Same answer for an unknown hook and a wrong secret: a caller cannot probe for hooks. */
export const hookNotFound = () => new NotFoundError('hook not found');

function assertEnabled(workflow: Workflow): void {
  if (!workflow.enabled) throw new ConflictError(`workflow "${workflow.workflowId}" is disabled`, undefined, 'workflow_disabled');
}

/**
 * Accepts a run of a workflow, for a manual trigger or a webhook call. It either happens
 * completely or not at all: find the workflow, record the idempotency key (or replay the run
 * it already stands for), refuse a disabled or busy workflow, then accept the run (status →
 * busy, queued execution, outbox message) in one atomic write.
 *
 * Any trigger type may be run by hand: running a periodic workflow now is useful, and the
 * busy check keeps it from overlapping a scheduled run.
 */
export class TriggerWorkflow {
  /** Workflows read for earlier manual triggers (see `accept`). */
  private readonly recent = new RecentWorkflows();

  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly topics: Topics,
    private readonly metrics?: Metrics,
  ) {}

  async execute(request: TriggerRequest): Promise<TriggerResult> {
    const result = await this.accept(request);
    if (!result.replayed) this.metrics?.executionsAccepted.inc({ trigger: request.target.kind === 'hook' ? 'webhook' : 'manual' });
    return result;
  }

  private async accept(request: TriggerRequest): Promise<TriggerResult> {
    if (request.idempotencyKey !== undefined) return this.acceptWithKey(request, request.idempotencyKey);
    // Without a key, the accept is one write atomic on its own (WorkflowRepo.acceptRun), which
    // holds only while the workflow is still the revision read before it: no transaction. That
    // read may be an earlier one (`recent`) for the first try: a stale copy only makes the write
    // miss, and the next try reads the store.
    for (let tries = 0; ; tries++) {
      const workflow = (tries === 0 ? this.recentlyRead(request.target) : undefined) ?? (await this.singleWrite((repos) => this.find(repos, request.target)));
      const now = this.clock.now();
      assertEnabled(workflow);
      const execution = newExecution(workflow, this.triggerOf(request, now), now);
      const accepted = await this.acceptRun({ execution, request: executionRequestedMessage(execution, this.topics, now), asRead: workflow });
      if (accepted) {
        this.remember(request.target, workflow);
        return { executionId: execution.executionId, status: execution.status, replayed: false };
      }
      // Why not: changed (or deleted, or deleted and created again) since it was read, then start
      // over with what is stored now; else busy.
      const current = await this.singleWrite((repos) => repos.workflows.get(workflow.ownerId, workflow.workflowId));
      if (!current || !sameRevision(current, workflow)) {
        this.recent.forget(workflow.ownerId, workflow.workflowId);
        continue;
      }
      this.remember(request.target, workflow); // the store has just confirmed this revision
      throw new WorkflowBusyError(workflow.workflowId, current.trigger.status);
    }
  }

  /** Through the group commit when there is one: the triggers of one turn of the event loop are accepted in one write. */
  private acceptRun(acceptance: RunAcceptance): Promise<boolean> {
    const uow = this.uow as UnitOfWork & Partial<Pick<GroupCommit, 'acceptRun'>>;
    if (uow.acceptRun) return uow.acceptRun(acceptance);
    return this.singleWrite((repos) => repos.workflows.acceptRun(acceptance.execution, acceptance.request, acceptance.asRead));
  }

  private remember(target: TriggerTarget, workflow: Workflow): void {
    if (target.kind === 'owned') this.recent.remember(workflow);
  }

  /** A workflow of the caller's own read earlier; hook calls always read theirs (the secret is checked on that read). */
  private recentlyRead(target: TriggerTarget): Workflow | undefined {
    return target.kind === 'owned' ? this.recent.get(target.ownerId, target.workflowId) : undefined;
  }

  /**
   * With a key, one unit of work: the key is recorded first, before anything else is written,
   * so a concurrent retry with the same key waits for this one's outcome and replays its run
   * instead of finding the workflow busy.
   */
  private acceptWithKey(request: TriggerRequest, key: string): Promise<TriggerResult> {
    return this.uow.run(async (tx) => {
      const workflow = await this.find(tx, request.target);
      const now = this.clock.now();
      const notBefore = new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS);
      const idempotent: IdempotentRun = { key, executionId: newId() };
      const recorded = await tx.idempotency.putIfAbsent(workflow.ownerId, key, idempotent.executionId, now, notBefore);
      if (recorded !== idempotent.executionId) return this.replay(tx, workflow, recorded);
      assertEnabled(workflow);
      const execution = await acceptRun(tx, workflow, this.triggerOf(request, now), this.topics, now, idempotent);
      return { executionId: execution.executionId, status: execution.status, replayed: false };
    });
  }

  private triggerOf(request: TriggerRequest, now: Date): ExecutionTrigger {
    return {
      type: request.target.kind === 'hook' ? 'webhook' : 'manual',
      firedAt: now,
      ...(request.payload === undefined ? {} : { payload: request.payload }),
    };
  }

  private singleWrite<T>(work: (repos: Repos) => Promise<T>): Promise<T> {
    const uow = this.uow as UnitOfWork & Partial<Pick<GroupCommit, 'runSingleWrite'>>;
    return uow.runSingleWrite ? uow.runSingleWrite(work) : uow.run(work);
  }

  private async find(tx: Repos, target: TriggerTarget): Promise<Workflow> {
    if (target.kind === 'owned') {
      const workflow = await tx.workflows.get(target.ownerId, target.workflowId);
      if (!workflow) throw workflowNotFound(target.workflowId);
      return workflow;
    }
    // Looked up inside the transaction, so a concurrent rotation cannot let an old secret in.
    const workflow = await tx.workflows.findByHookId(target.hookId);
    if (!workflow || workflow.trigger.type !== 'webhook' || !hookSecretMatches(target.secret, workflow.trigger.secretHash)) {
      throw hookNotFound();
    }
    return workflow;
  }

  /**
   * Keys are per owner (the hook's owner for webhook calls). A key first used for another
   * workflow is a client bug; answering with that other run would be wrong, so it is a 409.
   */
  private async replay(tx: Repos, workflow: Workflow, executionId: string): Promise<TriggerResult> {
    const first = await tx.executions.get(executionId);
    if (first && first.workflowId !== workflow.workflowId) {
      throw new ConflictError('Idempotency-Key was already used for another workflow', { workflowId: first.workflowId }, 'idempotency_key_reused');
    }
    return { executionId, status: first?.status ?? 'queued', replayed: true };
  }
}
