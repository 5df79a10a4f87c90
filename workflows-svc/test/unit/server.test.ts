import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@wf/shared';
import express from 'express';
import { startHttpServer } from '../../src/server.js';

/** An app with one slow route that answers when the test says so. */
function slowApp() {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived: () => void = () => {};
  const started = new Promise<void>((resolve) => (arrived = resolve));
  const app = express();
  app.get('/slow', async (_req, res) => {
    arrived();
    await released;
    res.json({ done: true });
  });
  app.get('/fast', (_req, res) => res.json({ ok: true }));
  return { app, release, started };
}

test('close lets an in-flight request finish, then stops listening', async () => {
  const { app, release, started } = slowApp();
  const server = await startHttpServer(app, 0, silentLogger, { host: '127.0.0.1', graceMs: 5_000 });
  const url = `http://127.0.0.1:${server.port}`;
  assert.equal((await fetch(`${url}/fast`)).status, 200, 'an idle keep-alive connection is open too');

  const inFlight = fetch(`${url}/slow`);
  await started;
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closed, false, 'close waits for the request in flight');
  await assert.rejects(fetch(`${url}/fast`), (err: { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED', 'no new connections');

  release();
  const releasedAt = Date.now();
  const res = await inFlight;
  assert.equal(res.headers.get('connection'), 'close', 'the client is told not to reuse the connection');
  assert.deepEqual(await res.json(), { done: true });
  await closing;
  assert.ok(Date.now() - releasedAt < 1_000, 'closed as soon as the request finished, not at the deadline');
  assert.equal(closed, true);
  assert.equal(server.close(), server.close(), 'idempotent');
});

test('close is bounded: a request that never ends is cut after the grace period', async () => {
  const { app, started } = slowApp();
  const server = await startHttpServer(app, 0, silentLogger, { host: '127.0.0.1', graceMs: 100 });
  const stuck = fetch(`http://127.0.0.1:${server.port}/slow`).then(
    () => 'answered',
    () => 'cut',
  );
  await started;
  const t0 = Date.now();
  await server.close();
  assert.ok(Date.now() - t0 < 2_000, `closed after ${Date.now() - t0} ms`);
  assert.equal(await stuck, 'cut');
});
