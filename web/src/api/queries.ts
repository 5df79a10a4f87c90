import { useQuery } from '@tanstack/react-query';
import { call, get, query } from './http';
import type { Page, RecentRun, Run, RunSummary, SessionUser, StatsResponse, Workflow } from './types';

/** Query keys: the live stream invalidates by these prefixes. */
export const keys = {
  session: ['session'] as const,
  openApi: ['openapi'] as const,
  workflows: ['workflows'] as const,
  workflow: (id: string) => ['workflows', 'one', id] as const,
  runs: ['runs'] as const,
  run: (id: string) => ['runs', 'one', id] as const,
  recentRuns: ['recent-runs'] as const,
  stats: ['stats'] as const,
};

/** The server's readable hint that a session was started in this browser (the session itself is HttpOnly). */
const mayBeSignedIn = () => document.cookie.split(';').some((c) => c.trim() === 'wf_signed_in=1');

export const useSession = () =>
  useQuery({
    queryKey: keys.session,
    queryFn: () => (mayBeSignedIn() ? call<SessionUser>('GET', '/auth/session', { expectUnauthorized: true }).catch(() => null) : null),
    staleTime: Infinity,
    retry: false,
  });

export const useOpenApi = () => useQuery({ queryKey: keys.openApi, queryFn: () => get<unknown>('/openapi.json'), staleTime: Infinity });

export const useWorkflows = (prefix: string, cursor: string | undefined, limit: number) =>
  useQuery({
    queryKey: [...keys.workflows, 'page', prefix, cursor ?? '', limit],
    queryFn: () => get<Page<Workflow>>(`/workflows${query({ limit, cursor, prefix })}`),
    placeholderData: (previous) => previous, // keep the table while the next page or search loads
  });

export const useWorkflow = (id: string, enabled = true) =>
  useQuery({ queryKey: keys.workflow(id), queryFn: () => get<Workflow>(`/workflows/${encodeURIComponent(id)}`), enabled });

export const useRecentRuns = (workflowIds: readonly string[]) =>
  useQuery({
    queryKey: [...keys.recentRuns, ...workflowIds],
    queryFn: () => get<{ items: Record<string, RecentRun[]> }>(`/recent-runs${query({ workflowIds: workflowIds.join(',') })}`),
    enabled: workflowIds.length > 0,
  });

export interface RunFilters {
  workflowId?: string;
  status?: string;
  from?: string;
  to?: string;
}

export const useRuns = (filters: RunFilters, cursor: string | undefined, limit = 25) =>
  useQuery({
    queryKey: [...keys.runs, 'page', filters, cursor ?? '', limit],
    queryFn: () => get<Page<RunSummary>>(`/executions${query({ ...filters, limit, cursor })}`),
  });

const ACTIVE = new Set(['queued', 'running']);

export const useRun = (id: string) =>
  useQuery({
    queryKey: keys.run(id),
    queryFn: () => get<Run>(`/executions/${encodeURIComponent(id)}`),
    // Steps inside a running attempt are not announced one by one: look again each second until the attempt ends.
    refetchInterval: (q) => (q.state.data && ACTIVE.has(q.state.data.status) ? 1_000 : false),
  });

export const useStats = () => useQuery({ queryKey: keys.stats, queryFn: () => get<StatsResponse>('/stats'), refetchInterval: 60_000 });
