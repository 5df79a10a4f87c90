import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A re-entrant async mutex: work queued with `run` executes one at a time, in order. Work
 * started from inside a held lock (same async context) runs at once instead of
 * deadlocking, which mirrors a database where a plain write inside a transaction callback
 * simply runs outside the transaction.
 */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly held = new AsyncLocalStorage<boolean>();

  run<T>(work: () => Promise<T> | T): Promise<T> {
    if (this.held.getStore()) return Promise.resolve().then(work);
    const result = this.tail.then(() => this.held.run(true, work));
    this.tail = result.catch(() => undefined);
    return result;
  }
}
