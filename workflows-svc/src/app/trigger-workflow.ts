import {
  ConflictError,
  IDEMPOTENCY_WINDOW_MS,
  NotFoundError,
  acceptRun,
  newId,
  type Clock,
  type IdempotentRun,
  type ExecutionStatus,
  type Repos,
  type UnitOfWork,
  type Topics,
  type Workflow,
} from '@wf/shared';
import type { Metrics } from '@wf/shared/ops';
import { hookSecretMatches } from './hook-secrets.js';
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

/**
 * Accepts a run of a workflow, for a manual trigger or a webhook call. One unit of work
 * does all of it, so it either happens completely or not at all: find the workflow, record
 * the idempotency key (or replay the run it already stands for), refuse a disabled or busy
 * workflow, then `acceptRun` (status → busy, queued execution, outbox message).
 *
 * The key is recorded first, before anything else is written: a concurrent retry with the
 * same key then waits for this one's outcome and replays its run, instead of finding the
 * workflow busy and answering 409.
 *
 * Any trigger type may be run by hand: running a periodic workflow now is useful, and the
 * busy check keeps it from overlapping a scheduled run.
 */
export class TriggerWorkflow {
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

  private accept(request: TriggerRequest): Promise<TriggerResult> {
    return this.uow.run(async (tx) => {
      const workflow = await this.find(tx, request.target);
      const now = this.clock.now();
      const key = request.idempotencyKey;
      const notBefore = new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS);

      let idempotent: IdempotentRun | undefined;
      if (key !== undefined) {
        idempotent = { key, executionId: newId() };
        const recorded = await tx.idempotency.putIfAbsent(workflow.ownerId, key, idempotent.executionId, now, notBefore);
        if (recorded !== idempotent.executionId) return this.replay(tx, workflow, recorded);
      }
      if (!workflow.enabled) {
        throw new ConflictError(`workflow "${workflow.workflowId}" is disabled`, undefined, 'workflow_disabled');
      }
      const trigger = {
        type: request.target.kind === 'hook' ? ('webhook' as const) : ('manual' as const),
        firedAt: now,
        ...(request.payload === undefined ? {} : { payload: request.payload }),
      };
      const execution = await acceptRun(tx, workflow, trigger, this.topics, now, idempotent);
      return { executionId: execution.executionId, status: execution.status, replayed: false };
    });
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
