import { UnavailableError } from '../errors.js';
import type { Repos, Store } from '../ports/repos.js';

export interface OutageSwitch {
  /** The store as the code under test sees it. */
  readonly store: Store;
  /** From now on every call fails with `UnavailableError`, as a store whose server is down. */
  down(): void;
  up(): void;
  readonly isDown: boolean;
  /** Calls refused while down, by `repo.method` (`uow.run`, `ping`, `init` for the store's own). */
  readonly refused: Map<string, number>;
}

/**
 * Wraps `inner` so that a test can take its server away and bring it back: while down, every
 * repository call, unit of work, `init` and `ping` rejects with `UnavailableError` (what each
 * adapter maps a lost connection to) and writes nothing. A unit of work already running when
 * the switch flips fails at its next call, and so is rolled back whole.
 */
export function withOutage(inner: Store): OutageSwitch {
  let isDown = false;
  const refused = new Map<string, number>();
  const gate = (name: string) => {
    if (!isDown) return;
    refused.set(name, (refused.get(name) ?? 0) + 1);
    throw new UnavailableError(`the database is unreachable (${name})`);
  };
  const guard = <T extends object>(repoName: string, repo: T): T =>
    Object.fromEntries(
      Object.entries(repo).map(([method, fn]) => [
        method,
        async (...args: unknown[]) => {
          gate(`${repoName}.${method}`);
          return (fn as (...a: unknown[]) => Promise<unknown>).apply(repo, args);
        },
      ]),
    ) as T;
  const guardRepos = (r: Repos): Repos => ({
    workflows: guard('workflows', r.workflows),
    executions: guard('executions', r.executions),
    outbox: guard('outbox', r.outbox),
    users: guard('users', r.users),
    idempotency: guard('idempotency', r.idempotency),
    secrets: guard('secrets', r.secrets),
  });
  const store: Store = {
    kind: inner.kind,
    ...guardRepos(inner),
    uow: {
      async run(work) {
        gate('uow.run');
        return inner.uow.run((tx) => work(guardRepos(tx)));
      },
    },
    async init() {
      gate('init');
      await inner.init();
    },
    async now() {
      gate('now');
      return inner.now();
    },
    async ping() {
      gate('ping');
      await inner.ping();
    },
    close: () => inner.close(),
  };
  return {
    store,
    down: () => {
      isDown = true;
    },
    up: () => {
      isDown = false;
    },
    get isDown() {
      return isDown;
    },
    refused,
  };
}
