import { setTimeout as sleep } from 'node:timers/promises';
import { newId, type Bus, type EventConsumer, type EventEnvelope, type Logger, type Topics } from '@wf/shared';
import type { ChangeFeed, RunChange } from './change-feed.js';

/**
 * What a run event on the bus means to the people watching it: a request is a queued run;
 * a result (completed, retry scheduled, waiting at a delay, failed for good, cancelled) carries
 * the status the run now has.
 */
export function runChangeOf(event: EventEnvelope): RunChange {
  const { ownerId, workflowId, executionId, attempt } = event.data;
  return { kind: 'run', ownerId, workflowId, executionId, attempt, status: event.type === 'ExecutionRequested' ? 'queued' : event.data.status };
}

/** How long to wait before trying again when the consumer cannot start (the broker is down). */
const RESTART_DELAY_MS = 5_000;

/**
 * Feeds `feed` from the bus: runs accepted (`requested`, which also carries retries and
 * scheduled runs) and attempts ended (`result`). Every instance has a consumer group of its
 * own, so each sees every event; it starts from the latest event (what happened before is in
 * the store) and leaves invalid messages to the runners' group to dead-letter. It starts in
 * the background and keeps trying while the broker is away: the API does not wait for it.
 */
export function feedFromBus(bus: Bus, topics: Topics, feed: ChangeFeed, logger: Logger): { stop(): Promise<void> } {
  const stopping = new AbortController();
  let consumer: EventConsumer | undefined;
  const running = (async () => {
    while (!stopping.signal.aborted) {
      const candidate = bus.createConsumer({
        groupId: `workflows-svc-live-${newId()}`,
        deadLetterTopic: null,
        startFrom: 'latest',
        deleteGroupOnStop: true, // named per instance: nobody resumes it
      });
      try {
        await candidate.start([topics.requested, topics.result], async (events) => {
          for (const { event } of events) feed.publish(runChangeOf(event));
        });
        consumer = candidate;
        logger.info('live feed: following run events');
        return;
      } catch (err) {
        logger.warn({ err }, `live feed: cannot follow run events yet; trying again in ${RESTART_DELAY_MS / 1000} s`);
        await sleep(RESTART_DELAY_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await running;
      await consumer?.stop();
    },
  };
}
