import { randomUUID } from 'node:crypto';
import type { Execution } from '../domain/execution.js';
import { DEFAULT_RETRY_POLICY, type Workflow } from '../domain/workflow.js';

/** When fixtures were created and last updated, unless a test says otherwise. */
export const FIXTURE_TIME = new Date('2026-01-01T00:00:00.000Z');

/**
 * A stored workflow as a test needs one: `wf-1` of `owner-1` (its name is its id), manual
 * and idle, one log action, the default retry policy, version 1. Override what matters.
 */
export function aWorkflow(overrides: Partial<Workflow> = {}): Workflow {
  const workflowId = overrides.workflowId ?? 'wf-1';
  return {
    workflowId,
    ownerId: 'owner-1',
    name: workflowId,
    enabled: true,
    trigger: { type: 'manual', status: 'idle' },
    actions: [{ type: 'log', message: 'hello' }],
    retryPolicy: DEFAULT_RETRY_POLICY,
    createdAt: FIXTURE_TIME,
    updatedAt: FIXTURE_TIME,
    version: 1,
    ...overrides,
  };
}

/**
 * A run as a test needs one: a fresh id, of `wf-1` of `owner-1` at version 1, queued on its
 * first attempt, one log step pending, created at FIXTURE_TIME by a manual trigger. Override
 * what matters.
 */
export function anExecution(overrides: Partial<Execution> = {}): Execution {
  const createdAt = overrides.createdAt ?? FIXTURE_TIME;
  return {
    executionId: randomUUID(),
    workflowId: 'wf-1',
    ownerId: 'owner-1',
    workflowVersion: 1,
    actions: [{ type: 'log', message: 'hello' }],
    retryPolicy: DEFAULT_RETRY_POLICY,
    trigger: { type: 'manual', firedAt: createdAt },
    status: 'queued',
    attempt: 1,
    retriesLeft: DEFAULT_RETRY_POLICY.maxRetries,
    steps: [{ index: 0, type: 'log', status: 'pending' }],
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}
