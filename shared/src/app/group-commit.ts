import type { Execution, Step } from '../domain/execution.js';
import { AppError, UnavailableError } from '../errors.js';
import type { AttemptEnding, Repos, RunAcceptance, StepSave, Store, UnitOfWork } from '../ports/repos.js';

export interface GroupCommitOptions {
  /** Transactions in flight at once; what arrives while all are busy waits and is grouped. Default 4. */
  maxInFlight?: number;
  /** Most parts in one transaction. Default 64. */
  maxGroup?: number;
}

/** A request waiting in a `SameTurn` batch, and how to answer its caller. */
interface Waiting<T, R> {
  request: T;
  resolve: (result: R | Promise<R>) => void;
  reject: (err: unknown) => void;
}

/** Most requests in one batched write. */
const MAX_BATCH = 500;

/**
 * Requests made in the same turn of the event loop (a runner working through a Kafka batch
 * makes its claims, then its finishes, in one turn each), written together: the waiting
 * requests of one `groupKey` go to `write` in chunks of up to `MAX_BATCH`, which answers each
 * of them, in order (an answer may be a promise of its own: that request's alone).
 */
class SameTurn<T, R> {
  private waiting: Waiting<T, R>[] = [];

  constructor(
    private readonly write: (requests: T[]) => Promise<(R | Promise<R>)[]>,
    private readonly groupKey: (request: T) => unknown = () => undefined,
  ) {}

  add(request: T): Promise<R> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ request, resolve, reject });
    });
  }

  private flush(): void {
    const groups = new Map<unknown, Waiting<T, R>[]>();
    for (const waiting of this.waiting.splice(0)) {
      const key = this.groupKey(waiting.request);
      const group = groups.get(key);
      if (group) group.push(waiting);
      else groups.set(key, [waiting]);
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += MAX_BATCH) {
        const chunk = group.slice(i, i + MAX_BATCH);
        this.write(chunk.map((w) => w.request)).then(
          (results) => chunk.forEach((w, n) => w.resolve(results[n] as R | Promise<R>)),
          (err: unknown) => chunk.forEach((w) => w.reject(err)),
        );
      }
    }
  }
}

interface Claim {
  executionId: string;
  attempt: number;
  leaseMs: number;
}

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
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxGroup: number;
  private readonly claims = new SameTurn<Claim, Execution | null>(
    (claims) => this.claimMany(claims),
    (claim) => claim.leaseMs,
  );
  private readonly ends = new SameTurn<AttemptEnding, boolean>((ends) => this.endMany(ends));
  private readonly accepts = new SameTurn<RunAcceptance, boolean>((accepts) => this.acceptMany(accepts));
  private readonly steps = new SameTurn<StepSave & { leaseMs: number }, boolean>(
    (saves) => this.saveMany(saves),
    (save) => save.leaseMs,
  );

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
    return this.claims.add({ executionId, attempt, leaseMs });
  }

  /**
   * Ends an attempt as `ExecutionRepo.endAttempts` does (true when it ended), with the ends
   * asked for in the same turn of the event loop (the runs of a Kafka batch finishing) sent as
   * one write: one statement and one commit for the batch instead of a transaction per run.
   * The write then goes as `runSingleWrite` does. Should that write fail for any reason but an
   * unreachable store, each end is written again alone, so that one run's failure (a value the
   * store refuses) is its own and not its batch's.
   */
  endAttempt(end: AttemptEnding): Promise<boolean> {
    return this.ends.add(end);
  }

  /**
   * `WorkflowRepo.acceptRun` (true when accepted), with the runs accepted in the same turn of
   * the event loop (the triggers that one read of the API's sockets brought in) sent as one
   * write, `acceptRuns`: one statement and one commit for them instead of one each. The write
   * then goes as `runSingleWrite` does; should it fail for any reason but an unreachable
   * store, each run is accepted again alone, so a refusal is its own and not its batch's.
   */
  acceptRun(acceptance: RunAcceptance): Promise<boolean> {
    return this.accepts.add(acceptance);
  }

  /**
   * `ExecutionRepo.saveStep`, with the steps saved in the same turn of the event loop (the runs
   * of a Kafka batch starting their first steps) sent as one write, `saveSteps`. The write then
   * goes as `runSingleWrite` does.
   */
  saveStep(executionId: string, attempt: number, step: Step, leaseMs: number): Promise<boolean> {
    return this.steps.add({ executionId, attempt, step, leaseMs });
  }

  private async saveMany(saves: (StepSave & { leaseMs: number })[]): Promise<boolean[]> {
    const saved = new Set(await this.runSingleWrite((r) => r.executions.saveSteps(saves, saves[0]!.leaseMs)));
    return saves.map((save) => saved.delete(save.executionId)); // an execution listed twice: its first entry was written
  }

  private async claimMany(claims: Claim[]): Promise<(Execution | null)[]> {
    const claimed = await this.runSingleWrite((r) => r.executions.claimManyForRun(claims, claims[0]!.leaseMs));
    const won = new Map(claimed.map((e) => [e.executionId, e]));
    return claims.map((c) => {
      const e = won.get(c.executionId);
      if (!e || e.attempt !== c.attempt) return null;
      won.delete(c.executionId); // each claimed execution to one caller only (a run requested twice in the batch)
      return e;
    });
  }

  private acceptMany(accepts: RunAcceptance[]): Promise<(boolean | Promise<boolean>)[]> {
    return this.eachWritten(accepts, (a) => a.execution.executionId, (repos, batch) => repos.workflows.acceptRuns(batch));
  }

  private endMany(ends: AttemptEnding[]): Promise<(boolean | Promise<boolean>)[]> {
    return this.eachWritten(ends, (end) => end.executionId, (repos, batch) => repos.executions.endAttempts(batch));
  }

  /**
   * Writes `requests` as one (`write` returns the ids it wrote) and answers each whether it was
   * written; of an id listed twice, its first entry. Should the write fail for any reason but
   * an unreachable store, each request is written again alone, so that one request's failure
   * (a value the store refuses) is its own and not its batch's.
   */
  private async eachWritten<T>(requests: T[], idOf: (request: T) => string, write: (repos: Repos, batch: T[]) => Promise<string[]>): Promise<(boolean | Promise<boolean>)[]> {
    const writtenOf = async (batch: T[]) => new Set(await this.runSingleWrite((repos) => write(repos, batch)));
    let written: Set<string>;
    try {
      written = await writtenOf(requests);
    } catch (err) {
      if (requests.length === 1 || err instanceof UnavailableError) throw err;
      return requests.map(async (request) => (await writtenOf([request])).has(idOf(request)));
    }
    return requests.map((request) => written.delete(idOf(request)));
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
