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
  /** Messages of the partition not yet consumed by this group, the claimed ones included. */
  lag: number;
}

/**
 * One partition's log. Offsets are absolute: `base` is the offset of the oldest message
 * still retained, so trimming the front never renumbers what a group has committed.
 */
export class PartitionLog {
  base = 0;
  readonly messages: StoredMessage[] = [];

  get end(): number {
    return this.base + this.messages.length;
  }

  /** Messages from `from` (an absolute offset, at least `base`), at most `max` of them. */
  read(from: number, max: number): StoredMessage[] {
    const start = Math.max(0, from - this.base);
    return this.messages.slice(start, start + max);
  }

  /** Drops the oldest messages, keeping `keep` of them but nothing before `notPast`. */
  trim(keep: number, notPast: number): void {
    const drop = Math.min(this.messages.length - keep, notPast - this.base);
    if (drop <= 0) return;
    this.messages.splice(0, drop);
    this.base += drop;
  }
}

/**
 * The part of a broker the in-process bus needs: partitioned append-only logs and, per
 * consumer group, members and offsets. Like Kafka's retention, a log keeps its last
 * `retain` messages (a group that starts late reads from the oldest one kept), but never
 * drops a message some group has not acknowledged yet. Single-threaded JavaScript makes
 * every method atomic.
 */
export class InProcessBroker {
  private readonly logs = new Map<string, PartitionLog[]>();
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly waiters = new Set<() => void>();
  private nextKeyless = 0;

  constructor(
    readonly partitionCount: number,
    private readonly retain = 10_000,
  ) {}

  /** The partitions of a topic; topics are created on first use, like `auto.create.topics.enable`. */
  partitions(topic: string): PartitionLog[] {
    let log = this.logs.get(topic);
    if (!log) {
      log = Array.from({ length: this.partitionCount }, () => new PartitionLog());
      this.logs.set(topic, log);
    }
    return log;
  }

  append(topic: string, message: StoredMessage): void {
    const partitions = this.partitions(topic);
    // One key always lands on one partition, so its events stay in order.
    const p = message.key === null ? this.nextKeyless++ % this.partitionCount : partitionOf(message.key, this.partitionCount);
    const log = partitions[p]!;
    log.messages.push(message);
    // Trimmed in steps of `retain`, so the cost of a trim is spread over as many appends.
    if (log.messages.length >= 2 * this.retain) log.trim(this.retain, this.lowestCommitted(topic, p) ?? log.end);
    this.changed();
  }

  records(topic: string): TopicRecord[] {
    return (this.logs.get(topic) ?? []).flatMap((log, partition) => log.messages.map((m, i) => ({ ...m, partition, offset: log.base + i })));
  }

  /** The lowest offset any group still has to deliver on a partition (undefined: no group reads it). */
  private lowestCommitted(topic: string, partition: number): number | undefined {
    let lowest: number | undefined;
    for (const group of this.groups.values()) {
      const committed = group.committedOn(topic, partition);
      if (committed !== undefined && (lowest === undefined || committed < lowest)) lowest = committed;
    }
    return lowest;
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
      // Messages this group never read may have aged out: it goes on from the oldest kept.
      if (state.committed < log.base) state.committed = log.base;
      if (state.busy || state.committed >= log.end) continue;
      if (state.retryAt > now) {
        waitMs = Math.min(waitMs ?? Infinity, state.retryAt - now);
        continue;
      }
      // Start after this partition next time, so one busy partition cannot starve the others.
      this.cursors.set(member, (start + i + 1) % owned.length);
      state.busy = true;
      const messages = log.read(state.committed, max).map((m, i) => ({ ...m, partition, offset: state.committed + i }));
      return { topic, partition, state, messages, lag: log.end - state.committed };
    }
    return { waitMs };
  }

  /** Puts the group at the end of every partition of `topics` it has never read (Kafka's `auto.offset.reset=latest`). */
  startAtEnd(topics: readonly string[]): void {
    for (const topic of topics) {
      this.broker.partitions(topic).forEach((log, partition) => {
        if (this.committedOn(topic, partition) === undefined) this.state(topic, partition).committed = log.end;
      });
    }
  }

  /** Where this group stands on a partition it has read from (undefined: never read). */
  committedOn(topic: string, partition: number): number | undefined {
    return this.states.get(`${topic}\u0000${partition}`)?.committed;
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
