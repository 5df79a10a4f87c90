import type { AttemptRecord, Execution, RecentRun, Step, StoredTrigger, Workflow } from '@wf/shared';
import type { WindowStats } from '../app/get-run-stats.js';
import type {
  ExecutionResponseBody,
  ExecutionSummaryResponseBody,
  HookResponseBody,
  RecentRunResponseBody,
  WindowStatsResponseBody,
  WorkflowResponseBody,
} from './schemas/responses.js';

/**
 * The public JSON shapes, in one place, typed by the response schemas the OpenAPI document
 * is generated from. Only fields listed here leave the service: the owner id, the
 * scheduler's lease, the runner's lease and the hook secret's hash never do.
 */

/** `{ name: value }` when the value is present, `{}` otherwise, so absent fields stay absent. */
function opt<K extends string, V>(name: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [name]: value } as Record<K, V>);
}
const optDate = <K extends string>(name: K, date: Date | undefined) => opt(name, date?.toISOString());

export function hookView(hookId: string, origin: string, secret?: string): HookResponseBody {
  return { hookId, url: `${origin}/hooks/${encodeURIComponent(hookId)}`, ...opt('secret', secret) };
}

function triggerView(trigger: StoredTrigger): WorkflowResponseBody['trigger'] {
  const state = { status: trigger.status, ...optDate('nextRunAt', trigger.nextRunAt) };
  switch (trigger.type) {
    case 'periodic':
      return { type: trigger.type, interval: trigger.interval, catchUp: trigger.catchUp ?? 'none', ...opt('overlap', trigger.overlap), ...state };
    case 'cron':
      return { type: trigger.type, cron: trigger.cron, ...opt('timezone', trigger.timezone), catchUp: trigger.catchUp ?? 'none', ...opt('overlap', trigger.overlap), ...state };
    default:
      return { type: trigger.type, ...state };
  }
}

export function workflowView(wf: Workflow, origin: string, hookSecret?: string): WorkflowResponseBody {
  const trigger = wf.trigger;
  return {
    workflowId: wf.workflowId,
    name: wf.name,
    enabled: wf.enabled,
    trigger: triggerView(trigger),
    ...(trigger.type === 'webhook' && trigger.hookId ? { hook: hookView(trigger.hookId, origin, hookSecret) } : {}),
    actions: wf.actions,
    retryPolicy: wf.retryPolicy,
    ...opt('retention', wf.retention),
    version: wf.version,
    createdAt: wf.createdAt.toISOString(),
    updatedAt: wf.updatedAt.toISOString(),
  };
}

function stepView(step: Step): ExecutionResponseBody['steps'][number] {
  return {
    index: step.index,
    type: step.type,
    status: step.status,
    ...opt('attempt', step.attempt),
    ...opt('failures', step.failures),
    ...opt('output', step.output),
    ...opt('error', step.error),
    ...optDate('startedAt', step.startedAt),
    ...optDate('finishedAt', step.finishedAt),
  };
}

function attemptView(record: AttemptRecord): ExecutionResponseBody['attempts'][number] {
  return {
    attempt: record.attempt,
    endedAs: record.endedAs,
    ...optDate('startedAt', record.startedAt),
    finishedAt: record.finishedAt.toISOString(),
    ...opt('error', record.error),
    steps: record.steps.map(stepView),
  };
}

/** An execution in a list: everything but the per-step detail and the payload, which can be large. */
export function executionSummaryView(execution: Execution): ExecutionSummaryResponseBody {
  return {
    executionId: execution.executionId,
    workflowId: execution.workflowId,
    workflowVersion: execution.workflowVersion,
    status: execution.status,
    attempt: execution.attempt,
    retriesLeft: execution.retriesLeft,
    ...optDate('nextAttemptAt', execution.nextAttemptAt),
    trigger: { type: execution.trigger.type, firedAt: execution.trigger.firedAt.toISOString(), ...optDate('scheduledFor', execution.trigger.scheduledFor) },
    ...opt('error', execution.error),
    createdAt: execution.createdAt.toISOString(),
    updatedAt: execution.updatedAt.toISOString(),
    ...optDate('startedAt', execution.startedAt),
    ...optDate('finishedAt', execution.finishedAt),
    ...opt('rerunOf', execution.rerunOf),
  };
}

/** One execution in full: the summary plus the trigger payload, every step and the earlier attempts. */
export function executionView(execution: Execution): ExecutionResponseBody {
  const summary = executionSummaryView(execution);
  return {
    ...summary,
    trigger: { ...summary.trigger, ...opt('payload', execution.trigger.payload) },
    steps: execution.steps.map(stepView),
    attempts: (execution.attempts ?? []).map(attemptView),
  };
}

/** One run in a workflow's outcome strip. */
export function recentRunView(r: RecentRun): RecentRunResponseBody {
  return { executionId: r.executionId, status: r.status, createdAt: r.createdAt.toISOString(), ...optDate('finishedAt', r.finishedAt) };
}

/** The overview's aggregates of one window. */
export function windowStatsView(w: WindowStats): WindowStatsResponseBody {
  return {
    from: w.from.toISOString(),
    to: w.to.toISOString(),
    bucketMs: w.bucketMs,
    buckets: w.buckets.map((b) => ({ start: b.start.toISOString(), counts: b.counts })),
    totals: w.totals,
    failureRate: w.failureRate,
    durationMs: w.durationMs,
    busiest: w.busiest,
    mostFailing: w.mostFailing,
  };
}

// The public shapes as types, for clients written in TypeScript (the dashboard).
export type WorkflowView = ReturnType<typeof workflowView>;
export type ExecutionSummaryView = ReturnType<typeof executionSummaryView>;
export type ExecutionView = ReturnType<typeof executionView>;
export type StepView = ReturnType<typeof stepView>;
export type AttemptView = ReturnType<typeof attemptView>;
export type RecentRunView = ReturnType<typeof recentRunView>;
export type WindowStatsView = ReturnType<typeof windowStatsView>;
