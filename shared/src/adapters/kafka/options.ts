import type { Logger } from '../../logger.js';

/**
 * Timings of the Kafka clients. The defaults suit a broker on the same network; every one
 * of them bounds how long something can take, so none is infinite.
 */
export interface KafkaTuning {
  /** TCP connect timeout per attempt. */
  connectionTimeoutMs: number;
  /** Retries of a failing connect, send or admin call before it is given up (exponential backoff). */
  retries: number;
  initialRetryTimeMs: number;
  maxRetryTimeMs: number;
  /** A group member that has not heartbeated for this long is evicted and its partitions reassigned. */
  sessionTimeoutMs: number;
  /** How often a member heartbeats; well under a third of the session timeout. */
  heartbeatIntervalMs: number;
  /** How long the coordinator waits for members to rejoin during a rebalance; longer than a handler call should take. */
  rebalanceTimeoutMs: number;
  /** Longest a fetch waits for new data. An idle member notices a rebalance only between fetches. */
  maxWaitTimeMs: number;
  /**
   * How often a consumer commits the offsets it acknowledged (the Java client's
   * auto.commit.interval.ms), besides at once when it stops, when its group rebalances and
   * when a handler fails. 0 commits after every acknowledged batch, one request per partition
   * batch. A member killed outright has its last interval's events delivered again (at-least-once).
   */
  commitIntervalMs: number;
  /** Deadline of `ping()`. */
  pingTimeoutMs: number;
  /** Longest `ensureTopics` waits for the partitions of the topics it created to have leaders. */
  topicLeadersTimeoutMs: number;
}

export const DEFAULT_KAFKA_TUNING: Readonly<KafkaTuning> = {
  connectionTimeoutMs: 3_000,
  // 300 ms doubling to 5 s: about 10 s before a publish to a dead broker rejects.
  retries: 5,
  initialRetryTimeMs: 300,
  maxRetryTimeMs: 5_000,
  // kafkajs' defaults (30 s / 3 s / 60 s / 5 s) make every join, leave and crash take tens
  // of seconds to settle; these keep failover and tests quick without flapping.
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  rebalanceTimeoutMs: 30_000,
  maxWaitTimeMs: 500, // the Java client's fetch.max.wait.ms
  // A commit per partition batch cost the broker about as much CPU as the rest of its work
  // (issue 14): at this interval a busy consumer sends about one commit a second.
  commitIntervalMs: 1_000,
  pingTimeoutMs: 3_000,
  topicLeadersTimeoutMs: 10_000,
};

/**
 * Partitions of the topics `ensureTopics` creates. A partition is consumed by one member of
 * a group at a time, so this is the most runners that can share the work; existing topics
 * keep the count they were created with.
 */
export const DEFAULT_TOPIC_PARTITIONS = 12;

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Partitions of the topics `ensureTopics` creates. Default `DEFAULT_TOPIC_PARTITIONS`. */
  partitions?: number;
  /** Replication factor of the topics `ensureTopics` creates. Default 1 (a single broker). */
  replicationFactor?: number;
  tuning?: Partial<KafkaTuning>;
}
