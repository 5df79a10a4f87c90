import assert from 'node:assert/strict';

import { eventually } from '@wf/shared/testing';

/** Test helpers used with this client, re-exported so that tests import one module. */
export { eventually };

/** A REST client for end-to-end tests: only what a user of the API can do. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private token?: string,
  ) {}

  /** `timeoutMs`: give up (the fetch rejects with a TimeoutError) when no answer came by then. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    { timeoutMs }: { timeoutMs?: number } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
  }

  async signUp(email = `user-${Math.random().toString(36).slice(2)}@example.com`, password = 'correct horse battery'): Promise<this> {
    const res = await this.request<{ token: string }>('POST', '/auth/signup', { email, password });
    assert.equal(res.status, 201, `signup: ${JSON.stringify(res.body)}`);
    this.token = res.body.token;
    return this;
  }

  async createWorkflow(definition: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>('POST', '/workflows', definition);
    assert.equal(res.status, 201, `create workflow: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async trigger(workflowId: string, payload?: unknown): Promise<{ status: number; body: { executionId?: string; error?: { code: string; details?: { triggerStatus?: string } } } }> {
    return this.request('POST', `/workflows/${workflowId}/trigger`, payload);
  }

  /** Triggers a run that must be accepted (202); its execution id. */
  async triggered(workflowId: string, payload?: unknown): Promise<string> {
    const res = await this.trigger(workflowId, payload);
    assert.equal(res.status, 202, `trigger ${workflowId}: ${JSON.stringify(res.body)}`);
    return res.body.executionId!;
  }

  cancel(executionId: string): Promise<{ status: number; body: ExecutionView & { error?: { code: string; details?: unknown } } }> {
    return this.request('POST', `/executions/${executionId}/cancel`);
  }

  /** Polls the run until its status is one of `statuses` (within `timeoutMs`); the run then. */
  untilStatus(executionId: string, statuses: ExecutionView['status'][], what: string, timeoutMs = 20_000): Promise<ExecutionView> {
    return eventually(async () => {
      const e = await this.execution(executionId);
      return statuses.includes(e.status) ? e : undefined;
    }, timeoutMs, what, 50);
  }

  async triggerStatus(workflowId: string): Promise<WorkflowView['trigger']['status']> {
    return (await this.workflow(workflowId)).trigger.status;
  }

  async workflow(workflowId: string): Promise<WorkflowView> {
    const res = await this.request<WorkflowView>('GET', `/workflows/${workflowId}`);
    assert.equal(res.status, 200);
    return res.body;
  }

  async execution(executionId: string): Promise<ExecutionView> {
    const res = await this.request<ExecutionView>('GET', `/executions/${executionId}`);
    assert.equal(res.status, 200, `get execution: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async executions(workflowId: string, limit = 100): Promise<ExecutionView[]> {
    const res = await this.request<{ items: ExecutionView[] }>('GET', `/workflows/${workflowId}/executions?limit=${limit}`);
    assert.equal(res.status, 200);
    return res.body.items;
  }
}

export interface WorkflowView {
  workflowId: string;
  trigger: { type: string; status: 'idle' | 'busy' | 'pending'; nextRunAt?: string };
}

export interface StepView {
  index: number;
  status: string;
  attempt?: number;
  output?: unknown;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface ExecutionView {
  executionId: string;
  workflowId: string;
  status: 'queued' | 'running' | 'waiting' | 'pending_retry' | 'completed' | 'failed' | 'cancelled';
  attempt: number;
  retriesLeft: number;
  nextAttemptAt?: string;
  startedAt?: string;
  finishedAt?: string;
  /** The run this one re-runs from the start. */
  rerunOf?: string;
  steps: StepView[];
  error?: string;
  trigger: { type: string; scheduledFor?: string; firedAt: string; payload?: unknown };
}
