import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import {
  acceptRun,
  GroupCommit,
  silentLogger,
  systemClock,
  type Bus,
  type Topics,
  newSecretsKey,
} from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { createKafkaBus } from '@wf/shared/kafka';
import { createAxiosHttpClient } from '@wf/shared/http';
import { Metrics } from '@wf/shared/ops';
import { aWorkflow, eventually, kafkaTier } from '@wf/shared/testing';
import { startRunnerService } from '@wf/runner-svc';
import { startSchedulerService } from '@wf/scheduler-svc';

const tier = kafkaTier();

/**
 * A run whose request message is lost after the relay published it (here: its topic is
 * deleted before any runner read it, as when a topic is recreated or a consumer group reset)
 * is not left queued, its workflow busy, for ever: the scheduler sends its request again
 * once it has been queued for SCHEDULER_REQUEUE_QUEUED_AFTER, and a runner completes it.
 */
describe('a lost request on the real Kafka broker', { skip: tier.skip }, () => {
  it('is sent again by the scheduler, and its run completes', { timeout: 90_000 }, async (t) => {
    const brokers = tier.url!.split(',');
    const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const topics: Topics = { requested: `lost.requested.${suffix}`, result: `lost.result.${suffix}`, deadLetter: `lost.dlq.${suffix}` };
    const store = createMemoryStore();
    const buses: Bus[] = [];
    const bus = (service: string) => {
      const b = createKafkaBus({ brokers, clientId: `lost-${service}-${suffix}`, logger: silentLogger, partitions: 3 });
      buses.push(b);
      return b;
    };
    const admin = new kafkajs.Kafka({ brokers, clientId: `lost-admin-${suffix}`, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const stops: (() => Promise<void>)[] = [];
    t.after(async () => {
      for (const stop of stops.reverse()) await stop();
      await Promise.all(buses.map((b) => b.close()));
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      await admin.disconnect();
    });

    const scheduler = await startSchedulerService({
      store,
      bus: bus('scheduler'),
      clock: systemClock,
      logger: silentLogger,
      topics,
      config: {
        tick: '1s',
        batchSize: 100,
        concurrency: 2,
        leaseMs: 10_000,
        requeueQueuedAfterMs: 3_000,
        outbox: { batchSize: 100, lockMs: 10_000, retentionMs: 3_600_000 },
      },
      metrics: new Metrics({ defaultMetrics: false }),
    });
    stops.push(() => scheduler.stop());

    const now = new Date();
    const wf = aWorkflow({ workflowId: 'lost', ownerId: 'o', actions: [{ type: 'log', message: 'found' }], createdAt: now, updatedAt: now });
    await store.workflows.create(wf);
    const { executionId } = await store.uow.run((tx) => acceptRun(tx, wf, { type: 'manual', firedAt: now }, topics, now));

    // The relay publishes the request; then the topic goes, with the request, before any runner read it.
    await eventually(async () => (await store.outbox.backlog(new Date())).count === 0, 20_000, 'the request to be published');
    const offsets = await admin.fetchTopicOffsets(topics.requested);
    assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 1, 'the request is on the topic');
    await admin.deleteTopics({ topics: [topics.requested] });
    await eventually(async () => !(await admin.listTopics()).includes(topics.requested), 20_000, 'the topic to be gone');

    const runner = await startRunnerService({
      store,
      groupCommit: new GroupCommit(store),
      bus: bus('runner'),
      http: createAxiosHttpClient({ allowHosts: [], allowCidrs: [], maxBodyBytes: 1024 * 1024, logger: silentLogger }),
      clock: systemClock,
      logger: silentLogger,
      topics,
      config: { groupId: `lost-runner-${suffix}`, concurrency: 4, batchSize: 50, leaseMarginMs: 5_000, maxDeliveries: 5, http: { allowHosts: [], allowCidrs: [], maxBodyBytes: 1024 * 1024 }, secrets: { current: newSecretsKey(), previous: [] } },
      metrics: new Metrics({ defaultMetrics: false }),
    });
    stops.push(() => runner.stop());

    const done = await eventually(async () => {
      const e = await store.executions.get(executionId);
      return e?.status === 'completed' ? e : undefined;
    }, 45_000, 'the run to complete');
    assert.equal(done.attempt, 1, 'on the attempt it was accepted for');
    assert.equal((await store.workflows.get('o', 'lost'))?.trigger.status, 'idle');
  });
});
