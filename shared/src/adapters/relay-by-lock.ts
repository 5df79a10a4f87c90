import type { OutboxMessage } from '../domain/outbox.js';
import type { OutboxRepo } from '../ports/repos.js';

/**
 * `OutboxRepo.relay` from a claim under a lock token: `claimBatch`, then `markPublished` or
 * `markFailed` for what the token still holds. Two writes per message; what the memory and
 * MongoDB stores do (PostgreSQL holds row locks instead and writes each message once).
 */
export async function relayByLock(
  outbox: Pick<OutboxRepo, 'claimBatch' | 'markPublished' | 'markFailed'>,
  lockMs: number,
  limit: number,
  publish: (messages: OutboxMessage[]) => Promise<void>,
  /** When they count as published (the store's clock where it has one at hand). */
  now: () => Date,
): Promise<{ claimed: number; marked: number }> {
  const { lockToken, messages } = await outbox.claimBatch(lockMs, limit);
  if (messages.length === 0) return { claimed: 0, marked: 0 };
  const ids = messages.map((m) => m.id);
  try {
    await publish(messages);
  } catch (err) {
    // Only what this relay still holds: past the lock, another relay may have claimed some.
    await outbox.markFailed(lockToken, ids, err instanceof Error ? err.message : String(err));
    throw err;
  }
  return { claimed: messages.length, marked: await outbox.markPublished(lockToken, ids, now()) };
}
