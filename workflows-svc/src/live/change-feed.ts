import { randomBytes } from 'node:crypto';
import type { ExecutionStatus } from '@wf/shared';

/** A run moved: accepted (queued, also for a retry) or an attempt ended. */
export interface RunChange {
  kind: 'run';
  ownerId: string;
  workflowId: string;
  executionId: string;
  status: ExecutionStatus;
  attempt: number;
}

/** A workflow's definition was created, changed or deleted through this instance. */
export interface WorkflowChange {
  kind: 'workflow';
  ownerId: string;
  workflowId: string;
  deleted: boolean;
}

export type Change = RunChange | WorkflowChange;

/** A change with its place in the feed: `id` is what a client sends back as `Last-Event-ID`. */
export interface FeedEntry {
  id: string;
  change: Change;
}

export interface FeedListener {
  onChange(entry: FeedEntry): void;
  /** The feed is shutting down. */
  onClose(): void;
}

export interface ChangeFeedOptions {
  /** How many recent changes (of all users) a reconnecting client can be replayed. */
  replayCapacity: number;
}

export const DEFAULT_CHANGE_FEED_OPTIONS: ChangeFeedOptions = { replayCapacity: 2_000 };

/**
 * The changes this instance knows of, fanned out to each owner's open streams, with a
 * bounded buffer so a client that reconnects gets what it missed. Ids are
 * `<instance epoch>.<sequence>`: an id from another instance or another run of this one,
 * or one older than the buffer, cannot be resumed from, and `since` says so (the client
 * then refetches what it shows).
 */
export class ChangeFeed {
  private readonly epoch = randomBytes(6).toString('base64url');
  private seq = 0;
  private readonly recent: FeedEntry[] = [];
  private readonly listeners = new Map<string, Set<FeedListener>>();
  private closed = false;

  constructor(private readonly options: ChangeFeedOptions = DEFAULT_CHANGE_FEED_OPTIONS) {}

  /** The id of the latest change (or of the start): where a client that is up to date stands. */
  get lastId(): string {
    return `${this.epoch}.${this.seq}`;
  }

  publish(change: Change): void {
    if (this.closed) return;
    const entry = { id: `${this.epoch}.${++this.seq}`, change };
    this.recent.push(entry);
    // Trimmed in steps, so a trim's cost is spread over as many publishes.
    if (this.recent.length >= 2 * this.options.replayCapacity) this.recent.splice(0, this.recent.length - this.options.replayCapacity);
    for (const listener of this.listeners.get(change.ownerId) ?? []) listener.onChange(entry);
  }

  subscribe(ownerId: string, listener: FeedListener): () => void {
    if (this.closed) {
      listener.onClose();
      return () => {};
    }
    let mine = this.listeners.get(ownerId);
    if (!mine) this.listeners.set(ownerId, (mine = new Set()));
    mine.add(listener);
    return () => {
      mine.delete(listener);
      if (mine.size === 0 && this.listeners.get(ownerId) === mine) this.listeners.delete(ownerId);
    };
  }

  /** The owner's changes after `lastId`, or null when they cannot be known (not this feed's id, or too old). */
  since(ownerId: string, lastId: string): FeedEntry[] | null {
    const match = /^([A-Za-z0-9_-]+)\.(\d{1,15})$/.exec(lastId);
    if (!match || match[1] !== this.epoch) return null;
    const after = Number(match[2]);
    if (after > this.seq) return null;
    const oldest = this.recent.length ? this.sequenceOf(this.recent[0]!) : this.seq + 1;
    if (after < oldest - 1) return null; // some of what followed it was trimmed
    return this.recent.filter((e) => this.sequenceOf(e) > after && e.change.ownerId === ownerId);
  }

  /** Ends every open stream (on shutdown) and takes no more changes. */
  close(): void {
    this.closed = true;
    const all = [...this.listeners.values()].flatMap((set) => [...set]);
    this.listeners.clear();
    for (const listener of all) listener.onClose();
  }

  private sequenceOf(entry: FeedEntry): number {
    return Number(entry.id.slice(this.epoch.length + 1));
  }
}
