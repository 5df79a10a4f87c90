import type { Execution } from '../domain/execution.js';
import { AppError, UnavailableError } from '../errors.js';
import type { Repos, Store, UnitOfWork } from '../ports/repos.js';

export interface GroupCommitOptions {
  /** Transactions in flight at once; what arrives while all are busy waits and is grouped. Default 4. */
  maxInFlight?: number;
  /** Most parts in one transaction. Default 64. */
  maxGroup?: number;
}

interface Claim {
  executionId: string;
  attempt: number;
  resolve: (execution: Execution | null) => void;
  reject: (err: unknown) => void;
}

/** Most claims in one write. */
const MAX_CLAIMS = 500;

interface Part {
  work: (tx: Repos) => Promise<unknown>;
  /** One write, atomic on its own: run alone, it needs no transaction. */
  singleWrite: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** A refusal of what was asked (404, 409, ...): that part's own answer, not a failure of the group. */
const isRefusal = (err: unknown): err is AppError => err instanceof AppError && err.status < 500;

/** A refused part, and the parts that ran before it in the transaction where it was refused. */
interface Refusal {
  part: Part;
  err: AppError;
  after: ReadonlySet<Part>;
}

/**
 * Group commit for a store. Under light load every unit of work runs at once in its own
 * transaction (a single statement without one). When `maxInFlight` transactions are
 * already running, what arrives waits, and the next transaction runs all of it: one
 * BEGIN/COMMIT and one log flush for many small units of work.
 *
 * All-or-nothing holds per part, not just per group:
 * - A part refused for a business reason (an `AppError` below 500: not found, busy, a
 *   conflict) rolls the shared transaction back; the group runs again without it and that
 *   caller alone gets the refusal. The refusal was decided after the parts before it, so it
 *   stands only if they all commit; if one of them is later refused too, the part is queued
 *   again and meets the store anew.
 * - The store unreachable (`UnavailableError`) fails the group and everything waiting behind
 *   it at once: every caller gets its 503 after one connection attempt, not one each.
 * - Any other failure (a deadlock past its retries, a bug in one part) rolls back the group,
 *   and every part runs again in a transaction of its own, so each meets exactly the outcome
 *   it would have had alone.
 * Parts must therefore not act outside the store (they may run more than once; only one run
 * ever commits).
 */
export class GroupCommit implements UnitOfWork {
  private readonly queue: Part[] = [];
  private claims = new Map<number, Claim[]>();
  private claimsDue = false;
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

  /**
   * `ExecutionRepo.claimForRun`, with the claims made in the same turn of the event loop (a
   * runner handing out a Kafka batch) sent as one write, `claimManyForRun`: one statement for
   * the batch instead of one per run. The write then goes as `runSingleWrite` does.
   */
  claimForRun(executionId: string, attempt: number, leaseMs: number): Promise<Execution | null> {
    return new Promise((resolve, reject) => {
      let claims = this.claims.get(leaseMs);
      if (!claims) this.claims.set(leaseMs, (claims = []));
      claims.push({ executionId, attempt, resolve, reject });
      if (!this.claimsDue) {
        this.claimsDue = true;
        setImmediate(() => this.flushClaims());
      }
    });
  }

  private flushClaims(): void {
    this.claimsDue = false;
    const byLease = this.claims;
    this.claims = new Map();
    for (const [leaseMs, claims] of byLease) {
      for (let i = 0; i < claims.length; i += MAX_CLAIMS) {
        const chunk = claims.slice(i, i + MAX_CLAIMS);
        this.runSingleWrite((r) => r.executions.claimManyForRun(chunk, leaseMs)).then(
          (claimed) => {
            const won = new Map(claimed.map((e) => [e.executionId, e]));
            for (const c of chunk) {
              const e = won.get(c.executionId);
              // Each claimed execution to one caller only (a run requested twice in the batch).
              if (e && e.attempt === c.attempt) won.delete(c.executionId);
              c.resolve(e && e.attempt === c.attempt ? e : null);
            }
          },
          (err: unknown) => chunk.forEach((c) => c.reject(err)),
        );
      }
    }
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
    if (group.length === 1) {
      const part = group[0]!;
      try {
        part.resolve(await this.alone(part));
      } catch (err) {
        this.fail(err, [part]);
      }
      return;
    }
    await this.together(group);
  }

  private alone(part: Part): Promise<unknown> {
    return part.singleWrite ? part.work(this.store) : this.store.uow.run(part.work);
  }

  /** Runs `group` in one transaction, leaving refused parts out until the rest commits. */
  private async together(group: Part[]): Promise<void> {
    let parts = group;
    const refusals: Refusal[] = [];
    for (;;) {
      let refusal: Refusal | undefined;
      let results: unknown[];
      try {
        results = await this.store.uow.run(async (tx) => {
          refusal = undefined; // the store may run this again (a transient conflict)
          const out: unknown[] = [];
          for (const [i, part] of parts.entries()) {
            try {
              out.push(await part.work(tx));
            } catch (err) {
              if (isRefusal(err)) refusal = { part, err, after: new Set(parts.slice(0, i)) };
              throw err;
            }
          }
          return out;
        });
      } catch (err) {
        if (err instanceof UnavailableError) return this.fail(err, [...parts, ...refusals.map((r) => r.part)]);
        if (refusal) {
          refusals.push(refusal);
          parts = parts.filter((p) => p !== refusal!.part);
          if (parts.length > 0) continue;
          results = [];
        } else {
          // Back in submission order, refused parts included: each runs alone and meets its own outcome.
          return this.oneByOne(group);
        }
      }
      parts.forEach((part, i) => part.resolve(results[i]));
      const committed = new Set(parts);
      const stale = refusals.filter((r) => ![...r.after].every((p) => committed.has(p)));
      for (const r of refusals) if (!stale.includes(r)) r.part.reject(r.err);
      // Refused after a part that did not commit after all: asked again, against what did commit.
      this.queue.unshift(...stale.map((r) => r.part));
      return;
    }
  }

  private async oneByOne(parts: Part[]): Promise<void> {
    for (const [i, part] of parts.entries()) {
      try {
        part.resolve(await this.alone(part));
      } catch (err) {
        if (err instanceof UnavailableError) return this.fail(err, parts.slice(i));
        part.reject(err);
      }
    }
  }

  /**
   * Rejects `parts` with `err`. When the store is unreachable, so is everything still waiting:
   * it is answered now rather than after a connection timeout per group.
   */
  private fail(err: unknown, parts: Part[]): void {
    const waiting = err instanceof UnavailableError ? this.queue.splice(0) : [];
    for (const part of [...parts, ...waiting]) part.reject(err);
  }
}
