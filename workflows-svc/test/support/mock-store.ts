import { mock, type Mock } from 'node:test';
import type { Repos, Store } from '@wf/shared';

/** Every repo method as a `mock.fn`; each resolves to null ("nothing there") until a test says otherwise. */
export type MockRepos = { [R in keyof Repos]: { [M in keyof Repos[R]]: Repos[R][M] extends (...args: never[]) => unknown ? Mock<Repos[R][M]> : never } };

const METHODS: { [R in keyof Repos]: ReadonlyArray<keyof Repos[R]> } = {
  workflows: ['create', 'get', 'list', 'replace', 'delete', 'findByHookId', 'setTriggerStatus', 'acceptRun', 'acceptRuns', 'claimDueScheduled', 'advanceSchedule', 'nextDueAt'],
  executions: ['insert', 'get', 'listByWorkflow', 'listRuns', 'recentRuns', 'runStats', 'claimForRun', 'setLease', 'saveStep', 'finishAttempt', 'requeueDueRetries', 'resumeDueWaits', 'requeueExpiredLeases', 'countByStatus'],
  outbox: ['add', 'claimBatch', 'markPublished', 'markFailed', 'purgePublished', 'backlog'],
  users: ['create', 'findByEmail', 'findById', 'revokeSessions'],
  idempotency: ['find', 'putIfAbsent'],
  secrets: ['put', 'list', 'getMany', 'delete'],
};

export function mockRepos(): MockRepos {
  const repo = (names: ReadonlyArray<PropertyKey>) => Object.fromEntries(names.map((n) => [n, mock.fn(async () => null)]));
  return Object.fromEntries(Object.entries(METHODS).map(([r, names]) => [r, repo(names)])) as unknown as MockRepos;
}

export interface MockStore {
  store: Store;
  /** The repos handed to the unit of work. */
  tx: MockRepos;
  /** The store's own repos, for writes outside a unit of work. */
  direct: MockRepos;
  uowRun: Mock<Store['uow']['run']>;
}

/** A store whose unit of work passes `tx` to the work and propagates what it throws. */
export function mockStore(): MockStore {
  const tx = mockRepos();
  const direct = mockRepos();
  const uowRun = mock.fn<Store['uow']['run']>(async (work) => work(tx as unknown as Repos));
  const store = {
    kind: 'memory',
    ...direct,
    uow: { run: uowRun },
    init: mock.fn(async () => {}),
    ping: mock.fn(async () => {}),
    close: mock.fn(async () => {}),
  } as unknown as Store;
  return { store, tx, direct, uowRun };
}

/** Every call made to any method of these repos, as `repo.method`, for "wrote nothing" checks. */
export function callsTo(repos: MockRepos, methods: readonly string[]): string[] {
  const made: string[] = [];
  for (const name of methods) {
    const [r, m] = name.split('.') as [keyof Repos, string];
    const fn = (repos[r] as unknown as Record<string, Mock<() => unknown>>)[m];
    if (fn && fn.mock.callCount() > 0) made.push(name);
  }
  return made;
}

export const WRITES = [
  'workflows.create',
  'workflows.replace',
  'workflows.delete',
  'workflows.setTriggerStatus',
  'workflows.acceptRun',
  'workflows.acceptRuns',
  'executions.insert',
  'outbox.add',
  'idempotency.putIfAbsent',
  'users.create',
];
