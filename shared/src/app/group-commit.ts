import type { Repos, Store, UnitOfWork } from '../ports/repos.js';

export interface GroupCommitOptions {
  /** Transactions in flight at once; what arrives while all are busy waits and is grouped. Default 4. */
  maxInFlight?: number;
  /** Most parts in one transaction. Default 64. */
  maxGroup?: number;
}

interface Part {
  work: (tx: Repos) => Promise<unknown>;
  /** One write, atomic on its own: run alone, it needs no transaction. */
  singleWrite: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for a store. Under light load every unit of work runs at once in its own
 * transaction (a single statement without one). When `maxInFlight` transactions are
 * already running, what arrives waits, and the next transaction runs all of it: one
 * BEGIN/COMMIT and one log flush for many small units of work.
 *
 * All-or-nothing holds per part, not just per group: if a shared transaction fails for
 * any reason (one part threw, a deadlock, a lost connection), it is rolled back whole and
 * every part runs again in a transaction of its own, so each part's outcome is exactly the
 * one it would have had alone. Parts must therefore not act outside the store (they may
 * run twice; only one run ever commits).
 */
export class GroupCommit implements UnitOfWork {
  private readonly queue: Part[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxGroup: number;

  constructor(
    private readonly store: Pick<Store, 'uow'> & Repos,
    options: GroupCommitOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 4;
    this.maxGroup = options.maxGroup ?? 64;
  }

  /** A unit of work: every write through `tx` lands, or none does. */
  run<T>(work: (tx: Repos) => Promise<T>): Promise<T> {
    return this.submit(work, false);
  }

  /** One write that is atomic by itself (a compare-and-set update, an insert): grouped when others wait, else run directly. */
  runSingleWrite<T>(work: (repos: Repos) => Promise<T>): Promise<T> {
    return this.submit(work, true);
  }

  private submit<T>(work: (tx: Repos) => Promise<T>, singleWrite: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, singleWrite, resolve: resolve as (value: unknown) => void, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const group = this.queue.splice(0, this.maxGroup);
      this.inFlight += 1;
      void this.commit(group).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async commit(group: Part[]): Promise<void> {
    if (group.length > 1) {
      let results: unknown[] | undefined;
      try {
        results = await this.store.uow.run(async (tx) => {
          const out: unknown[] = [];
          for (const part of group) out.push(await part.work(tx));
          return out;
        });
      } catch {
        // Rolled back whole: below, each part runs again alone and meets its own outcome.
      }
      if (results) {
        group.forEach((part, i) => part.resolve(results[i]));
        return;
      }
    }
    for (const part of group) {
      try {
        part.resolve(part.singleWrite ? await part.work(this.store) : await this.store.uow.run(part.work));
      } catch (err) {
        part.reject(err);
      }
    }
  }
}
