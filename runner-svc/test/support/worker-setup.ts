import {
  acceptRun,
  DEFAULT_TOPICS,
  GroupCommit,
  makeEvent,
  newSecretsKey,
  SecretsCipher,
  silentLogger,
  type Action,
  type ExecutionRequested,
  type HttpClient,
  type HttpRequest,
  type Logger,
  type RetryPolicy,
  type Store,
} from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { aWorkflow, FakeClock } from '@wf/shared/testing';
import { createActions, ExecutionWorker } from '../../src/index.js';
import { SecretResolver } from '../../src/worker/secrets.js';

export const requested = (executionId: string, attempt: number): ExecutionRequested =>
  makeEvent('ExecutionRequested', { executionId, workflowId: 'w', ownerId: 'o', attempt }, `ev-${attempt}`, new Date());

/**
 * An HttpClient that answers from a script: per URL, the statuses to return in turn (200 when
 * the script is spent), each with a session cookie, as many real APIs send (the runner must
 * not keep it).
 */
export function scriptedHttp(script: Record<string, (number | Error)[]> = {}) {
  const calls: HttpRequest[] = [];
  const http: HttpClient = {
    async request(req) {
      calls.push(req);
      const next = script[req.url]?.shift() ?? 200;
      if (next instanceof Error) throw next;
      return { status: next, headers: { 'set-cookie': 'session=abc', 'content-type': 'application/json' }, body: { ok: next < 300 }, truncated: false, durationMs: 1 };
    },
  };
  return { http, calls };
}

/** One accepted run of a manual workflow `w` of owner `o` on the memory store, a worker for it, and `retry()` playing the scheduler. */
export async function workerSetup(
  actions: Action[],
  http: HttpClient,
  options: {
    retryPolicy?: RetryPolicy;
    payload?: unknown;
    secrets?: Record<string, string>;
    logger?: Logger;
    /** The store the worker sees, made from the memory store (e.g. one that refuses some writes). */
    wrapStore?: (memory: Store) => Store;
  } = {},
) {
  const clock = new FakeClock('2026-01-01T00:00:00Z');
  const memory = createMemoryStore({ clock });
  const store = options.wrapStore ? options.wrapStore(memory) : memory;
  const now = clock.now();
  const retryPolicy = options.retryPolicy ?? { maxRetries: 2, baseDelayMs: 1_000, maxDelayMs: 8_000 };
  const wf = aWorkflow({ workflowId: 'w', ownerId: 'o', actions, retryPolicy, createdAt: now, updatedAt: now });
  await store.workflows.create(wf);
  const execution = await store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: now, payload: options.payload ?? { to: 'ada' } }, DEFAULT_TOPICS, now));
  const keys = { current: newSecretsKey(), previous: [] };
  const cipher = new SecretsCipher(keys.current);
  for (const [name, value] of Object.entries(options.secrets ?? {})) {
    await store.secrets.put({ ownerId: 'o', name, ciphertext: cipher.seal('o', name, value), createdAt: now, updatedAt: now });
  }
  const worker = new ExecutionWorker({
    store, groupCommit: new GroupCommit(store), actions: createActions({ http }), clock, logger: options.logger ?? silentLogger, topics: DEFAULT_TOPICS,
    secrets: new SecretResolver(store, keys),
    config: { leaseMarginMs: 5_000, random: () => 1 },
  });
  /** Lets the backoff pass and requeues due retries, as the scheduler would; the new attempt. */
  const retry = async () => {
    const e = await store.executions.get(execution.executionId);
    clock.set(e!.nextAttemptAt!);
    const [requeued] = await store.uow.run((tx) => tx.executions.requeueDueRetries(10));
    await store.workflows.setTriggerStatus('o', 'w', execution.executionId, ['pending'], 'busy', clock.now());
    return requeued!.attempt;
  };
  const get = async () => (await store.executions.get(execution.executionId))!;
  return { store, clock, worker, wf, execution, retry, get, handle: (attempt: number) => worker.handle(requested(execution.executionId, attempt)) };
}
