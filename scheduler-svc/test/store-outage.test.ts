import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TOPICS, nextRunAfter, systemClock } from '@wf/shared';
import { createInProcessBus } from '@wf/shared/inprocess';
import { createMemoryStore } from '@wf/shared/memory';
import { Metrics } from '@wf/shared/ops';
import { aWorkflow, capturedLogger, eventually, withOutage } from '@wf/shared/testing';
import { createScheduler } from '../src/index.js';

const config = { tick: '1s', batchSize: 100, concurrency: 4, leaseMs: 10_000, requeueQueuedAfterMs: 300_000, outbox: { batchSize: 100, lockMs: 10_000, retentionMs: 3_600_000 } };

describe('scheduler during a store outage', () => {
  it('pauses its loops without a log line per pass, counts the outage, and emits the due runs once the store is back', async () => {
    const { logger, lines } = capturedLogger();
    const metrics = new Metrics({ defaultMetrics: false });
    const outage = withOutage(createMemoryStore());
    const { store } = outage;
    const now = new Date();
    const wf = aWorkflow({
      workflowId: 'every-second',
      ownerId: 'o',
      trigger: { type: 'periodic', interval: '1s', status: 'idle', nextRunAt: nextRunAfter({ type: 'periodic', interval: '1s' }, now)! },
      actions: [{ type: 'log', message: 'tick' }],
      createdAt: now,
      updatedAt: now,
    });
    await store.workflows.create(wf);
    const bus = createInProcessBus({ logger });
    const scheduler = createScheduler({ store, publisher: bus.publisher, clock: systemClock, logger, topics: DEFAULT_TOPICS, config, metrics });

    outage.down();
    await scheduler.start();
    try {
      // Several seconds of outage: every loop keeps trying (with backoff), nothing is logged per try.
      // The due-run loop reads the store's clock first, then claims: either one is refused.
      const dueRunTries = () => (outage.refused.get('now') ?? 0) + (outage.refused.get('workflows.claimDueScheduled') ?? 0);
      await eventually(async () => dueRunTries() >= 3, 20_000, 'the due-run loop to retry');
      await eventually(async () => (outage.refused.get('outbox.relay') ?? 0) >= 3, 20_000, 'the relay to retry');
      const tries = [...outage.refused.values()].reduce((a, b) => a + b, 0);
      assert.ok(tries < 60, `the loops back off (${tries} tries)`);
      assert.deepEqual(
        lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg),
        ['the store is unreachable; work pauses until it answers again'],
        'one line for the outage, none per failed pass',
      );
      const outages = (await metrics.registry.getSingleMetric('wf_dependency_outages_total')?.get())?.values;
      assert.deepEqual(outages?.map((v) => v.value), [1]);

      outage.up();
      const runs = await eventually(async () => {
        const page = await store.executions.listByWorkflow('o', 'every-second', { limit: 10 });
        return page.items.length > 0 && page.items;
      }, 20_000, 'a due run after the store is back');
      assert.equal(runs[0]?.status, 'queued');
      await eventually(async () => (await store.outbox.backlog(new Date())).count === 0, 20_000, 'the relay to publish it');
      assert.ok(lines.some((l) => l.msg === 'the store answers again; work resumes'));
      assert.equal(lines.filter((l) => l.level === 'error').length, 0);
    } finally {
      await scheduler.stop();
      await bus.close();
    }
  });
});
