import type { EventEnvelope } from '../domain/events.js';

export interface PublishRecord {
  topic: string;
  key: string;
  event: EventEnvelope;
}

/** Publishes with the broker's acknowledgement: resolves only once every record is durable. */
export interface EventPublisher {
  publish(records: readonly PublishRecord[]): Promise<void>;
  /** Sends a raw (possibly invalid) value, for the dead-letter path. */
  publishRaw(topic: string, key: string | null, value: string | Buffer, headers?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface ReceivedEvent {
  topic: string;
  key: string | null;
  event: EventEnvelope;
}

/**
 * Handles a batch of valid events. Resolving acknowledges them (commits); rejecting
 * leaves them to be redelivered. Invalid messages never reach the handler: the consumer
 * dead-letters them. So does it with the events a handler gives up on (their handling
 * keeps failing): it names them in the result, and the consumer publishes each one to
 * the dead-letter topic, with the reason, before acknowledging the batch.
 */
export type BatchHandler = (events: readonly ReceivedEvent[]) => Promise<void | HandledBatch>;

export interface HandledBatch {
  /** Events of this call, as they were handed over, to dead-letter, each with why. */
  deadLetters: readonly { event: ReceivedEvent; reason: string }[];
}

export interface EventConsumer {
  /** Starts consuming `topics` as a member of the consumer group. */
  start(topics: readonly string[], handler: BatchHandler): Promise<void>;
  /** Stops fetching, lets the batch in hand finish, commits and leaves the group. */
  stop(): Promise<void>;
  /**
   * Stops taking new messages while staying in the group (a dependency the handler needs is
   * away). Nothing is skipped: what was not acknowledged is delivered again after `resume()`.
   */
  pause(): void;
  /** Takes messages again, from the first one not acknowledged. */
  resume(): void;
}

/** Why a message went to the dead-letter topic. */
export type DeadLetterCause = 'invalid' | 'given_up';

export interface ConsumerOptions {
  groupId: string;
  /**
   * Where messages that fail validation go, with the reason in a header. Null: they are
   * logged and skipped, for a group that only observes (the group doing the work
   * dead-letters them, once).
   */
  deadLetterTopic: string | null;
  /**
   * Where a group that has never committed starts: `earliest` (the default: events published
   * before it first joined are its work too) or `latest` (an observer of what happens from now on).
   */
  startFrom?: 'earliest' | 'latest';
  /**
   * The group is this member's alone (an observer with a per-instance name, which nobody
   * resumes): stop() deletes it, so that restarts do not leave empty groups behind. A
   * member that dies without stop() leaves its group until the broker expires it.
   */
  deleteGroupOnStop?: boolean;
  /** Most events handed to one handler call. */
  maxBatchSize?: number;
  /**
   * How many of its partitions a member hands over at once, each in a handler call of its
   * own (default 1: one partition after another). A partition's events still come in
   * order, one call at a time; more partitions per member keeps one member busy while
   * the work is spread thin over many partitions.
   */
  concurrentPartitions?: number;
  /**
   * Told of each message that went to the dead-letter topic, once it is there: `invalid`
   * (it failed validation) or `given_up` (the handler gave up on it). Not called when the
   * group has no dead-letter topic.
   */
  onDeadLetter?: (deadLettered: { topic: string; cause: DeadLetterCause }) => void;
  /** Told, for each batch fetched, how many messages of its partition were not yet consumed when it started (for a lag metric). */
  onLag?: (lag: { topic: string; partition: number; messages: number }) => void;
}

/** A broker connection: one publisher, any number of consumer-group members. */
export interface Bus {
  readonly kind: 'kafka' | 'in-process';
  publisher: EventPublisher;
  createConsumer(options: ConsumerOptions): EventConsumer;
  /** Creates the topics if missing (no-op in process). */
  ensureTopics(topics: readonly string[]): Promise<void>;
  /** Throws `UnavailableError` when the broker cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
