import type { Execution, RecentRun, Step, StoredTrigger, Workflow } from '@wf/shared';
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
const optDate = <K extends string>(name: K, d: Date | undefined) => opt(name, d?.toISOString());

export function hookView(hookId: string, origin: string, secret?: string): HookResponseBody {
  return { hookId, url: `${origin}/hooks/${encodeURIComponent(hookId)}`, ...opt('secret', secret) };
}

function triggerView(t: StoredTrigger): WorkflowResponseBody['trigger'] {
  const state = { status: t.status, ...optDate('nextRunAt', t.nextRunAt) };
  switch (t.type) {
    case 'periodic':
      return { type: t.type, interval: t.interval, ...state };
    case 'cron':
      return { type: t.type, cron: t.cron, ...opt('timezone', t.timezone), ...state };
    default:
      return { type: t.type, ...state };
  }
}

export function workflowView(wf: Workflow, origin: string, hookSecret?: string): WorkflowResponseBody {
  const t = wf.trigger;
  return {
    workflowId: wf.workflowId,
    name: wf.name,
    enabled: wf.enabled,
    trigger: triggerView(t),
    ...(t.type === 'webhook' && t.hookId ? { hook: hookView(t.hookId, origin, hookSecret) } : {}),
    actions: wf.actions,
    retryPolicy: wf.retryPolicy,
    version: wf.version,
    createdAt: wf.createdAt.toISOString(),
    updatedAt: wf.updatedAt.toISOString(),
  };
}

function stepView(s: Step): ExecutionResponseBody['steps'][number] {
  return {
    index: s.index,
    type: s.type,
    status: s.status,
    ...opt('attempt', s.attempt),
    ...opt('output', s.output),
    ...opt('error', s.error),
    ...optDate('startedAt', s.startedAt),
    ...optDate('finishedAt', s.finishedAt),
  };
}

/** An execution in a list: everything but the per-step detail and the payload, which can be large. */
export function executionSummaryView(e: Execution): ExecutionSummaryResponseBody {
  return {
    executionId: e.executionId,
    workflowId: e.workflowId,
    workflowVersion: e.workflowVersion,
    status: e.status,
    attempt: e.attempt,
    retriesLeft: e.retriesLeft,
    ...optDate('nextAttemptAt', e.nextAttemptAt),
    trigger: { type: e.trigger.type, firedAt: e.trigger.firedAt.toISOString(), ...optDate('scheduledFor', e.trigger.scheduledFor) },
    ...opt('error', e.error),
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    ...optDate('startedAt', e.startedAt),
    ...optDate('finishedAt', e.finishedAt),
  };
}

/** One execution in full: the summary plus the trigger payload and every step. */
export function executionView(e: Execution): ExecutionResponseBody {
  const summary = executionSummaryView(e);
  return {
    ...summary,
    trigger: { ...summary.trigger, ...opt('payload', e.trigger.payload) },
    steps: e.steps.map(stepView),
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
export type RecentRunView = ReturnType<typeof recentRunView>;
export type WindowStatsView = ReturnType<typeof windowStatsView>;
