/** A message as a broker keeps it: the encoded value, never the parsed event. */
export interface StoredMessage {
  key: string | null;
  value: string | Buffer;
  headers: Record<string, string>;
}

export interface TopicRecord extends StoredMessage {
  partition: number;
  offset: number;
}

/** Where one consumer group stands on one partition. */
export interface PartitionState {
  /** The next offset to deliver: everything before it is acknowledged. */
  committed: number;
  /** A member is handling a batch of it; nobody else may take it until it is released. */
  busy: boolean;
  /** Consecutive failed deliveries, and when the next one may be tried. */
  failures: number;
  retryAt: number;
}

/** A group member: what it subscribed to. Identity matters, not contents. */
export interface Member {
  readonly topics: readonly string[];
}

export interface Claim {
  topic: string;
  partition: number;
  state: PartitionState;
  messages: TopicRecord[];
}

/**
 * The part of a broker the in-process bus needs: partitioned append-only logs (retained
 * forever, so a group that starts late still reads from the beginning) and, per consumer
 * group, members and offsets. Single-threaded JavaScript makes every method atomic.
 */
export class InProcessBroker {
  private readonly logs = new Map<string, StoredMessage[][]>();
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly waiters = new Set<() => void>();
  private nextKeyless = 0;

  constructor(readonly partitionCount: number) {}

  /** The partitions of a topic; topics are created on first use, like `auto.create.topics.enable`. */
  partitions(topic: string): StoredMessage[][] {
    let log = this.logs.get(topic);
    if (!log) {
      log = Array.from({ length: this.partitionCount }, () => []);
      this.logs.set(topic, log);
    }
    return log;
  }

  append(topic: string, message: StoredMessage): void {
    const partitions = this.partitions(topic);
    // One key always lands on one partition, so its events stay in order.
    const p = message.key === null ? this.nextKeyless++ % this.partitionCount : partitionOf(message.key, this.partitionCount);
    partitions[p]!.push(message);
    this.changed();
  }

  records(topic: string): TopicRecord[] {
    return (this.logs.get(topic) ?? []).flatMap((log, partition) => log.map((m, offset) => ({ ...m, partition, offset })));
  }

  group(groupId: string): ConsumerGroup {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new ConsumerGroup(this);
      this.groups.set(groupId, group);
    }
    return group;
  }

  /** Wakes every member waiting for work: new messages, a partition released, a member joined or left. */
  changed(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves on the next change, or after `ms` when given. */
  nextChange(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }
}

/**
 * Members split the partitions of each topic round-robin, in joining order; the split is
 * recomputed on every claim, so it follows members as they join and leave. A partition
 * stays with whoever is handling it until released, so no message is handled by two
 * members at once, even across a reassignment.
 */
export class ConsumerGroup {
  private readonly members: Member[] = [];
  private readonly states = new Map<string, PartitionState>();
  private readonly cursors = new WeakMap<Member, number>();

  constructor(private readonly broker: InProcessBroker) {}

  join(member: Member): void {
    this.members.push(member);
    this.broker.changed();
  }

  leave(member: Member): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    this.broker.changed();
  }

  /**
   * Takes up to `max` pending messages of the next partition this member owns that is free,
   * has pending messages and is not backing off after a failure; `release` gives it back.
   * Returns how long to wait instead when there is nothing to do now (undefined: until a change).
   */
  claim(member: Member, max: number, now: number): Claim | { waitMs: number | undefined } {
    const owned = this.owned(member);
    const start = this.cursors.get(member) ?? 0;
    let waitMs: number | undefined;
    for (let i = 0; i < owned.length; i++) {
      const { topic, partition } = owned[(start + i) % owned.length]!;
      const log = this.broker.partitions(topic)[partition]!;
      const state = this.state(topic, partition);
      if (state.busy || state.committed >= log.length) continue;
      if (state.retryAt > now) {
        waitMs = Math.min(waitMs ?? Infinity, state.retryAt - now);
        continue;
      }
      // Start after this partition next time, so one busy partition cannot starve the others.
      this.cursors.set(member, (start + i + 1) % owned.length);
      state.busy = true;
      const messages = log
        .slice(state.committed, state.committed + max)
        .map((m, i) => ({ ...m, partition, offset: state.committed + i }));
      return { topic, partition, state, messages };
    }
    return { waitMs };
  }

  release(state: PartitionState): void {
    state.busy = false;
    this.broker.changed();
  }

  private owned(member: Member): { topic: string; partition: number }[] {
    const owned: { topic: string; partition: number }[] = [];
    for (const topic of member.topics) {
      const subscribers = this.members.filter((m) => m.topics.includes(topic));
      const index = subscribers.indexOf(member);
      if (index < 0) continue;
      for (let p = index; p < this.broker.partitionCount; p += subscribers.length) owned.push({ topic, partition: p });
    }
    return owned;
  }

  private state(topic: string, partition: number): PartitionState {
    const key = `${topic}\u0000${partition}`;
    let state = this.states.get(key);
    if (!state) {
      state = { committed: 0, busy: false, failures: 0, retryAt: 0 };
      this.states.set(key, state);
    }
    return state;
  }
}

/** FNV-1a: any stable hash will do, Kafka's murmur2 is not needed in process. */
function partitionOf(key: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}
