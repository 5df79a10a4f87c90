import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IDEMPOTENCY_WINDOW_MS, silentLogger } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { FakeClock } from '@wf/shared/testing';
import { IdempotencyPurge } from '../src/index.js';

describe('IdempotencyPurge', () => {
  it('deletes keys past their window, in batches, at most once per period', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore();
    const start = clock.now();
    for (let i = 0; i < 5; i++) await store.idempotency.putIfAbsent('o', `old-${i}`, `e${i}`, start, new Date(0));
    clock.advance(IDEMPOTENCY_WINDOW_MS);
    await store.idempotency.putIfAbsent('o', 'fresh', 'e-fresh', clock.now(), new Date(0));
    const purge = new IdempotencyPurge({ idempotency: store.idempotency, clock, logger: silentLogger }, { everyMs: 60_000, batchSize: 2 });

    assert.equal(await purge.runOnce(), 0, 'a key exactly at the window edge still counts');
    clock.advance(1);
    assert.equal(await purge.runOnce(), 0, 'not again within the period');
    clock.advance(60_000);
    assert.equal(await purge.runOnce(), 5, 'every expired key, two at a time');
    assert.equal(await store.idempotency.find('o', 'old-0', new Date(0)), null);
    assert.equal(await store.idempotency.find('o', 'fresh', new Date(0)), 'e-fresh');
  });
});
