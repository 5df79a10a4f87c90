import {
  DEFAULT_RETRY_POLICY,
  NotFoundError,
  ConflictError,
  type Action,
  type Retention,
  type RetryPolicy,
  type TriggerSpec,
  type Workflow,
} from '@wf/shared';

/** The part of a workflow its owner writes; everything else is the system's. */
export interface Definition {
  name: string;
  enabled: boolean;
  trigger: TriggerSpec;
  actions: Action[];
  retryPolicy: RetryPolicy;
  /** Absent: runs are kept for the retention period only. */
  retention?: Retention;
}

/** `POST /workflows`: a definition whose optional parts take their defaults. */
export interface CreateWorkflowInput {
  workflowId: string;
  name?: string;
  enabled?: boolean;
  trigger: TriggerSpec;
  actions: Action[];
  retryPolicy?: RetryPolicy;
  retention?: Retention;
}

/** `PUT`: the whole definition again; `workflowId` may be repeated but not changed. */
export type ReplaceWorkflowInput = Omit<CreateWorkflowInput, 'workflowId'> & { workflowId?: string };

/** `PATCH`: the top-level fields to replace. */
export type PatchWorkflowInput = Partial<Definition>;

/** A full definition from create/replace input, with the documented defaults. */
export function definitionFrom(workflowId: string, input: Omit<CreateWorkflowInput, 'workflowId'>): Definition {
  return {
    name: input.name ?? workflowId,
    enabled: input.enabled ?? true,
    trigger: input.trigger,
    actions: input.actions,
    retryPolicy: input.retryPolicy ?? DEFAULT_RETRY_POLICY,
    ...(input.retention ? { retention: input.retention } : {}),
  };
}

/** What a create/update returns: the stored workflow and, when a hook was just made, its secret. */
export interface WorkflowResult {
  workflow: Workflow;
  hookSecret?: string;
}

export const workflowNotFound = (workflowId: string) => new NotFoundError(`workflow "${workflowId}" not found`);

/** Same code and details as the stores' own optimistic-concurrency conflict. */
export const versionConflict = (currentVersion: number) =>
  new ConflictError('workflow was changed concurrently', { currentVersion }, 'version_conflict');

export function assertVersion(workflow: Workflow, expectedVersion: number | undefined): void {
  if (expectedVersion !== undefined && workflow.version !== expectedVersion) throw versionConflict(workflow.version);
}
