// The API's bodies, typed from the service's own definitions (no second copy): the domain's
// shapes from the shared zod schemas, request and response bodies from workflows-svc (its
// request schemas and the views typed by its response schemas).
export type { Action, ExecutionStatus, RetryPolicy, StepStatus, TriggerSpec, TriggerStatus } from '@wf/shared';
import type { WindowStatsView } from '@wf/workflows-svc';

export type {
  CreateWorkflowInput,
  ExecutionSummaryView as RunSummary,
  ExecutionView as Run,
  RecentRunView as RecentRun,
  StepView as Step,
  WindowStatsView as WindowStats,
  WorkflowView as Workflow,
} from '@wf/workflows-svc';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface SessionUser {
  userId: string;
  email: string;
}

export interface StatsResponse {
  waitingForRetry: number;
  hour: WindowStatsView;
  day: WindowStatsView;
}
