import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_TOPICS, makeEvent, newId, silentLogger } from '@wf/shared';
import { createInProcessBus } from '@wf/shared/inprocess';
import { startForSuite } from '@wf/shared/testing';
import { feedFromBus, runChangeOf } from '../../src/live/bus-changes.js';
import { ChangeFeed } from '../../src/live/change-feed.js';
import { manualWorkflow, startApi, type TestApi } from '../support/api.js';

interface ServerEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** An open `GET /events` stream, parsed as it arrives. */
async function openStream(api: TestApi, token: string, lastEventId?: string) {
  const aborter = new AbortController();
  const res = await fetch(`${api.url}/events`, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: aborter.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: ServerEvent[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((l) => l && !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        if (fields.event) events.push({ ...(fields.id ? { id: fields.id } : {}), event: fields.event, data: JSON.parse(fields.data ?? '{}') });
      }
    }
  })().catch(() => undefined);
  /** The first event after the `skip` first ones that `match`es, within a bounded wait. */
  const next = async (match: (e: ServerEvent) => boolean, what: string): Promise<ServerEvent> => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = events.find(match);
      if (found) return found;
      if (Date.now() > deadline) assert.fail(`no ${what} event; got ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    events,
    next,
    async close() {
      aborter.abort();
      await reading;
    },
  };
}

describe('GET /events: each user\'s own changes, live, resumable', () => {
  let api: TestApi;
  const feed = new ChangeFeed({ replayCapacity: 3 });
  let alice: { token: string; userId: string };
  let bob: { token: string; userId: string };
  startForSuite(
    () => startApi({ feed }),
    async (started) => {
      api = started;
      alice = await api.user();
      bob = await api.user();
    },
  );

  test('needs a login', async () => {
    assert.equal((await api.call('GET', '/events')).status, 401);
  });

  test('streams a workflow write to its owner only, with ids to resume from', async () => {
    const aliceStream = await openStream(api, alice.token);
    const bobStream = await openStream(api, bob.token);
    const ready = await aliceStream.next((e) => e.event === 'ready', 'ready');
    assert.ok(ready.id);

    assert.equal((await api.call('POST', '/workflows', { token: alice.token, body: manualWorkflow('live-one') })).status, 201);
    const created = await aliceStream.next((e) => e.event === 'workflow', 'workflow');
    assert.deepEqual(created.data, { workflowId: 'live-one', deleted: false });
    assert.equal((await api.call('DELETE', '/workflows/live-one', { token: alice.token })).status, 204);
    const deleted = await aliceStream.next((e) => e.event === 'workflow' && e.data.deleted === true, 'deletion');
    assert.equal(deleted.data.workflowId, 'live-one');
    assert.equal((await api.call('POST', '/workflows', { token: alice.token, body: { workflowId: 'bad id' } })).status, 400);

    await bobStream.next((e) => e.event === 'ready', 'ready');
    await api.call('POST', '/workflows', { token: bob.token, body: manualWorkflow('bobs') });
    await bobStream.next((e) => e.event === 'workflow', 'workflow of bob');
    assert.deepEqual(aliceStream.events.map((e) => e.event), ['ready', 'workflow', 'workflow'], 'alice never sees bob\'s change nor a failed write');
    await Promise.all([aliceStream.close(), bobStream.close()]);
  });

  test('a reconnect with Last-Event-ID gets what it missed; one that cannot be resumed gets reset', async () => {
    const first = await openStream(api, alice.token);
    const ready = await first.next((e) => e.event === 'ready', 'ready');
    await first.close();
    feed.publish({ kind: 'run', ownerId: alice.userId, workflowId: 'w', executionId: 'e-1', status: 'completed', attempt: 1 });
    feed.publish({ kind: 'run', ownerId: bob.userId, workflowId: 'w', executionId: 'e-2', status: 'failed', attempt: 1 });

    const resumed = await openStream(api, alice.token, ready.id);
    await resumed.next((e) => e.event === 'ready', 'ready');
    assert.deepEqual(
      resumed.events.map((e) => [e.event, e.data.executionId]),
      [
        ['run', 'e-1'],
        ['ready', undefined],
      ],
    );
    await resumed.close();

    for (let i = 0; i < 6; i++) feed.publish({ kind: 'run', ownerId: bob.userId, workflowId: 'w', executionId: `x-${i}`, status: 'queued', attempt: 1 });
    for (const stale of [ready.id!, 'another-instance.1', 'x'.repeat(100)]) {
      const stream = await openStream(api, alice.token, stale);
      await stream.next((e) => e.event === 'ready', 'ready');
      assert.deepEqual(stream.events.map((e) => e.event), ['reset', 'ready'], stale);
      await stream.close();
    }
  });
});

describe('live feed from the bus', () => {
  test('a run parked at a delay, or waiting for its retry, is a change to that status', () => {
    const data = { executionId: 'e', workflowId: 'w', ownerId: 'owner-1', attempt: 1, finishedAt: new Date().toISOString() };
    const waiting = makeEvent('ExecutionWaiting', { ...data, status: 'waiting', resumeAt: data.finishedAt }, newId(), new Date());
    const retrying = makeEvent('ExecutionRetryScheduled', { ...data, status: 'pending_retry', nextAttemptAt: data.finishedAt }, newId(), new Date());
    assert.deepEqual([waiting, retrying].map((event) => runChangeOf(event).status), ['waiting', 'pending_retry']);
  });


  test('every run event of both topics becomes a run change of its owner', async () => {
    const bus = createInProcessBus({ logger: silentLogger });
    const feed = new ChangeFeed();
    const seen: unknown[] = [];
    feed.subscribe('owner-1', { onChange: (e) => seen.push(e.change), onClose: () => {} });
    const old = makeEvent('ExecutionRequested', { executionId: 'before', workflowId: 'w', ownerId: 'owner-1', attempt: 1 }, newId(), new Date());
    await bus.publisher.publish([{ topic: DEFAULT_TOPICS.requested, key: 'w', event: old }]);
    const following = feedFromBus(bus, DEFAULT_TOPICS, feed, silentLogger);
    try {
      const at = new Date().toISOString();
      const deadline = Date.now() + 5_000;
      // The group starts from the latest event once it has joined: publish until it follows.
      while (seen.length === 0 && Date.now() < deadline) {
        await bus.publisher.publish([
          { topic: DEFAULT_TOPICS.requested, key: 'w', event: makeEvent('ExecutionRequested', { executionId: 'e', workflowId: 'w', ownerId: 'owner-1', attempt: 2 }, newId(), new Date()) },
          {
            topic: DEFAULT_TOPICS.result,
            key: 'w',
            event: makeEvent('ExecutionRetryScheduled', { executionId: 'e', workflowId: 'w', ownerId: 'owner-1', attempt: 2, status: 'pending_retry', finishedAt: at, nextAttemptAt: at }, newId(), new Date()),
          },
        ]);
        await new Promise((r) => setTimeout(r, 50));
      }
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(seen.slice(0, 2).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
        { kind: 'run', ownerId: 'owner-1', workflowId: 'w', executionId: 'e', status: 'pending_retry', attempt: 2 },
        { kind: 'run', ownerId: 'owner-1', workflowId: 'w', executionId: 'e', status: 'queued', attempt: 2 },
      ]);
      assert.ok(!seen.some((c) => (c as { executionId: string }).executionId === 'before'), 'what happened before it started is not replayed');
    } finally {
      await following.stop();
      await bus.close();
    }
  });
});
