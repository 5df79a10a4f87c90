import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptRun, DEFAULT_TOPICS, GroupCommit, newSecretsKey, systemClock, type Execution, type HttpClient } from '@wf/shared';
import { createInProcessBus } from '@wf/shared/inprocess';
import { createMemoryStore } from '@wf/shared/memory';
import { Metrics } from '@wf/shared/ops';
import { aWorkflow, capturedLogger, eventually, withOutage } from '@wf/shared/testing';
import { createRunner } from '../src/worker/runner.js';

const noHttp: HttpClient = {
  request: () => Promise.reject(new Error('no HTTP in this test')),
};

describe('runner during a store outage', () => {
  it('pauses its consumer instead of taking messages it cannot record, then runs them once the store is back', async () => {
    const { logger, lines } = capturedLogger();
    const outage = withOutage(createMemoryStore());
    const { store } = outage;
    const bus = createInProcessBus({ logger });
    const now = new Date();
    const wf = aWorkflow({ workflowId: 'w', ownerId: 'o', createdAt: now, updatedAt: now });
    await store.workflows.create(wf);
    const runs: Execution[] = [];
    for (let i = 0; i < 3; i++) {
      // Three runs queued at once: each releases the trigger the one before holds.
      const holder = runs.at(-1)?.executionId;
      if (holder) await store.workflows.setTriggerStatus('o', 'w', holder, ['busy'], 'idle', now);
      runs.push(await store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: now }, DEFAULT_TOPICS, now)));
    }
    const { messages } = await store.outbox.claimBatch(60_000, 10);
    const runner = createRunner({
      store,
      groupCommit: new GroupCommit(store),
      consumer: bus.createConsumer({ groupId: 'runners', deadLetterTopic: DEFAULT_TOPICS.deadLetter }),
      http: noHttp,
      clock: systemClock,
      logger,
      topics: DEFAULT_TOPICS,
      config: { groupId: 'runners', concurrency: 4, batchSize: 50, leaseMarginMs: 5_000, maxDeliveries: 5, http: { allowHosts: [], allowCidrs: [], maxBodyBytes: 1024 }, secrets: { current: newSecretsKey(), previous: [] } },
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await runner.start();
    try {
      outage.down();
      await bus.publisher.publish(messages.map((m) => ({ topic: m.topic, key: m.key, event: m.event })));
      await eventually(async () => (outage.refused.get('ping') ?? 0) >= 3, 20_000, 'the runner to probe the store');
      assert.equal(outage.refused.get('executions.claimManyForRun'), 1, 'the first message met the outage (its claim); nothing more was taken from the topic');
      assert.deepEqual(
        lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg),
        ['the store is unreachable; work pauses until it answers again'],
      );

      outage.up();
      await eventually(async () => {
        const all = await Promise.all(runs.map((r) => store.executions.get(r.executionId)));
        return all.every((e) => e?.status === 'completed');
      }, 20_000, 'every run to complete after the store is back');
      assert.ok(lines.some((l) => l.msg === 'the store answers again; work resumes'));
      assert.equal(lines.filter((l) => l.level === 'error').length, 0);
    } finally {
      await runner.stop();
      await bus.close();
    }
  });
});
