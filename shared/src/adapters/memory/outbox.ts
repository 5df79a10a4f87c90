import { ConflictError } from '../../errors.js';
import type { OutboxMessage } from '../../domain/outbox.js';
import type { OutboxRepo } from '../../ports/repos.js';
import { newId } from '../../ids.js';
import { relayByLock } from '../relay-by-lock.js';
import { clone, del, put, time, type MemoryContext } from './schema.js';


export function createOutboxRepo(ctx: MemoryContext): OutboxRepo {
  const { state, journal, clock, leaseFrom } = ctx;
  const outbox: OutboxRepo = {
    async add(message) {
      if (state.outbox.has(message.id)) throw new ConflictError(`outbox message ${message.id} already exists`);
      put(journal, state.outbox, message.id, clone(message));
    },
    async claimBatch(lockMs, limit) {
      const now = clock.now();
      const lockedUntil = leaseFrom(lockMs, now);
      const lockToken = newId();
      const messages: OutboxMessage[] = [];
      for (const stored of state.outbox.values()) {
        if (messages.length >= limit) break;
        if (time(stored.lockedUntil) > now.getTime()) continue;
        const { lockToken: _previous, ...message } = stored;
        put(journal, state.outbox, message.id, { ...message, lockedUntil, lockToken });
        messages.push(clone({ ...message, lockedUntil }));
      }
      return { lockToken, messages };
    },
    async markPublished(lockToken, ids) {
      const held = ids.filter((id) => state.outbox.get(id)?.lockToken === lockToken);
      // Published messages are of no further use to anyone; the durable stores purge them later.
      for (const id of held) del(journal, state.outbox, id);
      return held.length;
    },
    async markFailed(lockToken, ids, error) {
      let released = 0;
      for (const id of ids) {
        const message = state.outbox.get(id);
        if (message?.lockToken !== lockToken) continue;
        const { lockedUntil: _until, lockToken: _token, ...unlocked } = message;
        put(journal, state.outbox, id, { ...unlocked, attempts: message.attempts + 1, lastError: error });
        released += 1;
      }
      return released;
    },
    relay: (lockMs, limit, publish) => relayByLock(outbox, lockMs, limit, publish, () => clock.now()),
    async purgePublished() {
      return 0; // markPublished already dropped them
    },
    async backlog(now) {
      let oldest: number | undefined;
      for (const message of state.outbox.values()) {
        const createdAt = message.createdAt.getTime();
        if (oldest === undefined || createdAt < oldest) oldest = createdAt;
      }
      return { count: state.outbox.size, oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now.getTime() - oldest) };
    },
  };
  return outbox;
}
