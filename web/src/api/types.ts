// The API's bodies, typed from the service's own definitions (no second copy): request
// shapes from the shared zod schemas, response shapes from workflows-svc's views.
export type { Action, CreateWorkflowInput, ExecutionStatus, RetryPolicy, StepStatus, TriggerSpec, TriggerStatus } from '@wf/shared';
import type { WindowStatsView } from '@wf/workflows-svc';

export type {
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
