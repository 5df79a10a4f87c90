import type { ExecutionRepo, Repos, Store, UnitOfWork } from '../../ports/repos.js';
import { endAttemptsInOrder } from '../in-order.js';
import { systemClock, type Clock } from '../../ports/clock.js';
import { DEFAULT_MAX_STEP_OUTPUT_BYTES, type StepBoundOptions } from '../step-bound.js';
import { relayByLock } from '../relay-by-lock.js';
import { createExecutionRepo } from './executions.js';
import { createIdempotencyRepo } from './idempotency.js';
import { AsyncMutex } from './mutex.js';
import { createOutboxRepo } from './outbox.js';
import { Journal, State, type MemoryContext } from './schema.js';
import { createSecretRepo } from './secrets.js';
import { createUserRepo } from './users.js';
import { createWorkflowRepo } from './workflows.js';

function makeRepos(state: State, journal: Journal | null, clock: Clock, maxStepOutputBytes: number): Repos {
  const ctx: MemoryContext = {
    state: state,
    journal: journal,
    clock,
    maxStepOutputBytes,
    leaseFrom: (ms, now = clock.now()) => new Date(now.getTime() + ms),
  };
  const outbox = createOutboxRepo(ctx);
  // In a unit of work (the store's own repos send it to one: see createMemoryStore).
  const executions: ExecutionRepo = { ...createExecutionRepo(ctx), endAttempts: (ends) => endAttemptsInOrder({ executions, workflows, outbox }, ends) };
  const workflows = createWorkflowRepo(ctx, { executions, outbox });
  return { workflows, executions, outbox, users: createUserRepo(ctx), idempotency: createIdempotencyRepo(ctx), secrets: createSecretRepo(ctx) };
}

/** Wraps every method of every repo so that it runs under the store's lock. */
function locked(repos: Repos, mutex: AsyncMutex): Repos {
  const wrap = <T extends object>(repo: T): T =>
    Object.fromEntries(
      Object.entries(repo).map(([name, fn]) => [name, (...args: unknown[]) => mutex.run(() => (fn as (...a: unknown[]) => unknown)(...args))]),
    ) as T;
  return {
    workflows: wrap(repos.workflows),
    executions: wrap(repos.executions),
    outbox: wrap(repos.outbox),
    users: wrap(repos.users),
    idempotency: wrap(repos.idempotency),
    secrets: wrap(repos.secrets),
  };
}

export interface MemoryStoreOptions extends StepBoundOptions {
  /** The store's clock, by which leases, locks and due times are judged (see ports/repos.ts); a test's fake clock. Default: the system clock. */
  clock?: Clock;
}

/**
 * The in-memory store: the same semantics as the durable ones, for unit tests and the
 * embedded mode. Operations are serialized; a unit of work holds the lock for its whole
 * duration and rolls every write back if it throws.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock;
  const state = new State();
  const mutex = new AsyncMutex();
  const maxStepOutputBytes = options.maxStepOutputBytes ?? DEFAULT_MAX_STEP_OUTPUT_BYTES;
  const repos = locked(makeRepos(state, null, clock, maxStepOutputBytes), mutex);
  // Not under the lock as a whole: the publish in between may need the store (the in-process bus delivers at once).
  repos.outbox.relay = (lockMs, limit, publish) => relayByLock(repos.outbox, lockMs, limit, publish, () => clock.now());
  const uow: UnitOfWork = {
    run: (work) =>
      mutex.run(async () => {
        const journal = new Journal();
        try {
          return await work(makeRepos(state, journal, clock, maxStepOutputBytes));
        } catch (err) {
          journal.rollback();
          throw err;
        }
      }),
  };
  // Several writes: all or none, as the one statement of PostgreSQL.
  repos.executions.endAttempts = (ends) => uow.run((tx) => tx.executions.endAttempts(ends));
  return {
    kind: 'memory',
    ...repos,
    uow,
    async now() {
      return clock.now();
    },
    async init() {},
    async ping() {},
    async close() {},
  };
}
