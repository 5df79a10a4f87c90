import type { ExecutionRepo, Store } from '@wf/shared';

/** Decides, for each call of an ExecutionRepo method, whether the store refuses it (with that error). */
export type Refusal = (method: keyof ExecutionRepo, args: readonly unknown[]) => Error | undefined;

/**
 * `store`, except that its executions refuse the calls `refusal` picks, inside units of work
 * as well as outside: how a store looks that cannot take one execution's writes (a document
 * over its size limit, a value the database rejects) while it takes everyone else's.
 */
export function refusingStore(store: Store, refusal: Refusal): Store {
  const wrap = (repo: ExecutionRepo): ExecutionRepo =>
    new Proxy(repo, {
      get(target, method: keyof ExecutionRepo) {
        const fn = target[method] as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          const refused = refusal(method, args);
          return refused ? Promise.reject(refused) : fn.apply(target, args);
        };
      },
    });
  return {
    ...store,
    executions: wrap(store.executions),
    uow: { run: (work) => store.uow.run((tx) => work({ ...tx, executions: wrap(tx.executions) })) },
  };
}
