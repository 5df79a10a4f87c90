import { ConflictError } from '../../errors.js';
import type { OutboxMessage } from '../../domain/outbox.js';
import type { OutboxRepo } from '../../ports/repos.js';
import { newId } from '../../ids.js';
import { relayByLock } from '../relay-by-lock.js';
import { clone, del, put, time, type MemoryContext } from './schema.js';


export function createOutboxRepo(ctx: MemoryContext): OutboxRepo {
  const { state: s, journal: j, clock, leaseFrom } = ctx;
  const outbox: OutboxRepo = {
    async add(m) {
      if (s.outbox.has(m.id)) throw new ConflictError(`outbox message ${m.id} already exists`);
      put(j, s.outbox, m.id, clone(m));
    },
    async claimBatch(lockMs, limit) {
      const now = clock.now();
      const lockedUntil = leaseFrom(lockMs, now);
      const lockToken = newId();
      const messages: OutboxMessage[] = [];
      for (const m of s.outbox.values()) {
        if (messages.length >= limit) break;
        if (time(m.lockedUntil) > now.getTime()) continue;
        const { lockToken: _previous, ...message } = m;
        put(j, s.outbox, m.id, { ...message, lockedUntil, lockToken });
        messages.push(clone({ ...message, lockedUntil }));
      }
      return { lockToken, messages };
    },
    async markPublished(lockToken, ids) {
      const held = ids.filter((id) => s.outbox.get(id)?.lockToken === lockToken);
      // Published messages are of no further use to anyone; the durable stores purge them later.
      for (const id of held) del(j, s.outbox, id);
      return held.length;
    },
    async markFailed(lockToken, ids, error) {
      let released = 0;
      for (const id of ids) {
        const m = s.outbox.get(id);
        if (m?.lockToken !== lockToken) continue;
        const { lockedUntil: _until, lockToken: _token, ...unlocked } = m;
        put(j, s.outbox, id, { ...unlocked, attempts: m.attempts + 1, lastError: error });
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
      for (const m of s.outbox.values()) {
        const t = m.createdAt.getTime();
        if (oldest === undefined || t < oldest) oldest = t;
      }
      return { count: s.outbox.size, oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now.getTime() - oldest) };
    },
  };
  return outbox;
}
