import type { EventEnvelope } from './events.js';

/** An event written in the same transaction as the state change it announces. */
export interface OutboxMessage {
  id: string;
  topic: string;
  key: string;
  event: EventEnvelope;
  createdAt: Date;
  publishedAt?: Date;
  attempts: number;
  lastError?: string;
  /** Until when a relay holds this message. */
  lockedUntil?: Date;
}
