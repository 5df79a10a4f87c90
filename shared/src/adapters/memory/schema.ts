import type { OutboxMessage } from '../../domain/outbox.js';
import type { StoredSecret } from '../../domain/secret.js';
import type { User } from '../../domain/user.js';
import type { Execution, ExecutionStatus } from '../../domain/execution.js';
import type { Workflow } from '../../domain/workflow.js';
import type { Page, PageRequest } from '../../ports/repos.js';
import type { Clock } from '../../ports/clock.js';
import { toPage } from '../cursor.js';

/*
 * The memory store's tables (maps, with the indexes it keeps by hand), the journal that
 * undoes a unit of work's writes, and what every repository is given to work on them.
 */

export const clone = <T>(value: T): T => structuredClone(value);
export const key = (ownerId: string, id: string) => `${ownerId}\u0000${id}`;
export const time = (d: Date | undefined) => (d ? d.getTime() : Number.NEGATIVE_INFINITY);

export type LockedOutboxMessage = OutboxMessage & { lockToken?: string };

export class State {
  readonly workflows = new Map<string, Workflow>();
  readonly hooks = new Map<string, string>(); // hookId -> workflow key
  readonly executions = new Map<string, Execution>();
  readonly executionsByStatus = new Map<ExecutionStatus, number>(); // kept with every write: a count never walks the executions
  readonly outbox = new Map<string, LockedOutboxMessage>(); // unpublished only, in insertion order
  readonly users = new Map<string, User>();
  readonly emails = new Map<string, string>(); // email -> userId
  readonly idempotency = new Map<string, { executionId: string; at: Date }>();
  readonly secrets = new Map<string, StoredSecret>(); // owner + name -> secret
}

type Undo = () => void;

/** Records how to put a map entry back the way it was, when running inside a transaction. */
export class Journal {
  private readonly undos: Undo[] = [];
  remember<K, V>(map: Map<K, V>, mapKey: K): void {
    const had = map.has(mapKey);
    const before = map.get(mapKey);
    this.undos.push(() => (had ? map.set(mapKey, before as V) : map.delete(mapKey)));
  }
  rollback(): void {
    for (const undo of this.undos.reverse()) undo();
  }
}

/** Writes to a map, journaling the previous value when in a transaction. */
export function put<K, V>(journal: Journal | null, map: Map<K, V>, mapKey: K, value: V): void {
  journal?.remember(map, mapKey);
  map.set(mapKey, value);
}
export function del<K, V>(journal: Journal | null, map: Map<K, V>, mapKey: K): void {
  journal?.remember(map, mapKey);
  map.delete(mapKey);
}

export function paginate<T, C>(sorted: T[], page: PageRequest, decode: (cursor: string) => C, after: (item: T, cursor: C) => boolean, sortKey: (item: T) => string): Page<T> {
  const cursor = page.cursor ? decode(page.cursor) : undefined;
  return toPage(cursor === undefined ? sorted : sorted.filter((t) => after(t, cursor)), page.limit, sortKey);
}

/** What a repository works on: the tables, the unit of work's journal (null outside one), the store's clock and bounds. */
export interface MemoryContext {
  state: State;
  journal: Journal | null;
  clock: Clock;
  maxStepOutputBytes: number;
  /** A lease or lock of `ms` from `now`, by default this store's clock's. */
  leaseFrom(ms: number, now?: Date): Date;
}
