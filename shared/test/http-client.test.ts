import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAxiosHttpClient } from '../src/adapters/http/index.js';
import { OutboundRequestRefusedError } from '../src/index.js';

describe('axios HttpClient with the SSRF guard', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/json') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}');
      if (req.url === '/teapot') return res.writeHead(418).end('short and stout');
      if (req.url === '/to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
      if (req.url === '/big') return res.writeHead(200).end('x'.repeat(4096));
      if (req.url === '/slow') return setTimeout(() => res.writeHead(200).end('late'), 2_000);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const allowed = () => createAxiosHttpClient({ allowCidrs: ['127.0.0.1/32'], maxBodyBytes: 1024 });

  it('returns status, headers and parsed JSON; non-2xx is returned, not thrown', async () => {
    const ok = await allowed().request({ url: `${base}/json`, method: 'GET', timeoutMs: 2_000 });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { a: 1 });
    assert.equal(ok.headers['content-type'], 'application/json');
    const teapot = await allowed().request({ url: `${base}/teapot`, method: 'GET', timeoutMs: 2_000 });
    assert.equal(teapot.status, 418);
    assert.equal(teapot.body, 'short and stout');
  });

  it('refuses loopback, private, link-local and unspecified destinations by default', async () => {
    const client = createAxiosHttpClient();
    for (const url of [`${base}/json`, 'http://localhost:1/', 'http://[::1]:1/', 'http://10.1.2.3/', 'http://169.254.169.254/latest', 'http://0.0.0.0:1/', 'http://[::ffff:127.0.0.1]:1/']) {
      await assert.rejects(client.request({ url, method: 'GET', timeoutMs: 2_000 }), OutboundRequestRefusedError, url);
    }
  });

  it('checks every redirect hop', async () => {
    await assert.rejects(allowed().request({ url: `${base}/to-metadata`, method: 'GET', timeoutMs: 2_000 }), OutboundRequestRefusedError);
  });

  it('opens named hosts through the allow-list', async () => {
    const client = createAxiosHttpClient({ allowHosts: ['localhost'] });
    const port = new URL(base).port;
    const res = await client.request({ url: `http://localhost:${port}/json`, method: 'GET', timeoutMs: 2_000 });
    assert.equal(res.status, 200);
  });

  it('refuses header names and values that templating filled with line breaks, in its own words', async () => {
    await assert.rejects(allowed().request({ url: `${base}/json`, method: 'GET', headers: { 'x-id': 'a\r\nx-injected: 1' }, timeoutMs: 2_000 }), {
      name: 'OutboundRequestRefusedError',
      message: 'refused header "x-id": its value contains a line break or control character',
    });
    await assert.rejects(allowed().request({ url: `${base}/json`, method: 'GET', headers: { 'x\nid': 'a' }, timeoutMs: 2_000 }), OutboundRequestRefusedError);
  });

  it('caps the response body and times out slow answers', async () => {
    await assert.rejects(allowed().request({ url: `${base}/big`, method: 'GET', timeoutMs: 2_000 }), /larger than the cap/);
    await assert.rejects(allowed().request({ url: `${base}/slow`, method: 'GET', timeoutMs: 200 }), /timeout after 200ms/);
  });
});

describe('axios HttpClient keeping connections alive', () => {
  it('closes an idle kept-alive connection before the server would, so no request is sent on one the server is closing', async (t) => {
    // The server closes an idle connection after 2 s and says so (`Keep-Alive: timeout=2`).
    const server = createServer((_req, res) => res.writeHead(200).end('ok'));
    server.keepAliveTimeout = 2_000;
    const closedAt: number[] = [];
    server.on('connection', (socket) => socket.on('close', () => closedAt.push(Date.now())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const client = createAxiosHttpClient({ allowCidrs: ['127.0.0.1/32'] });

    const answered = Date.now();
    assert.equal((await client.request({ url, method: 'GET', timeoutMs: 2_000 })).status, 200);
    while (closedAt.length === 0 && Date.now() - answered < 5_000) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(closedAt.length, 1, 'the idle connection was closed');
    // The client closes it a second before the hint (at ~1 s); the server would at 2 s.
    const after = closedAt[0]! - answered;
    assert.ok(after < 1_700, `closed ${after} ms after the answer: by the client, before the server's keep-alive timeout`);
    // And the next request simply opens a new one.
    assert.equal((await client.request({ url, method: 'GET', timeoutMs: 2_000 })).status, 200);
  });
});

describe('axios HttpClient on redirects between two allowed hosts', () => {
  /** `first` answers on 127.0.0.1; `second` on `localhost` at another port: another origin. */
  let first: Server;
  let second: Server;
  let firstBase: string;
  let secondBase: string;
  const seenBySecond: Array<{ method: string; headers: Record<string, unknown>; body: string }> = [];
  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const s = createServer(handler);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return s;
  };
  before(async () => {
    second = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seenBySecond.push({ method: req.method ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ headers: req.headers }));
      });
    });
    secondBase = `http://localhost:${(second.address() as AddressInfo).port}`;
    first = await listen((req, res) => {
      if (req.url === '/elsewhere') return res.writeHead(302, { location: `${secondBase}/landing` }).end();
      if (req.url === '/elsewhere-307') return res.writeHead(307, { location: `${secondBase}/landing` }).end();
      if (req.url === '/here') return res.writeHead(302, { location: '/echo' }).end();
      if (req.url === '/echo') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ headers: req.headers }));
      res.writeHead(404).end();
    });
    firstBase = `http://127.0.0.1:${(first.address() as AddressInfo).port}`;
  });
  after(() => {
    for (const s of [first, second]) {
      s.closeAllConnections();
      s.close();
    }
  });

  const client = () => createAxiosHttpClient({ allowCidrs: ['127.0.0.1/32'], allowHosts: ['localhost'] });
  const actionHeaders = { 'x-api-key': 'k-123', authorization: 'Bearer t', cookie: 'a=b', 'x-trace': 'trace-1' };

  it('sends none of the action\'s headers to another origin', async () => {
    const res = await client().request({ url: `${firstBase}/elsewhere`, method: 'GET', headers: actionHeaders, timeoutMs: 2_000 });
    assert.equal(res.status, 200);
    const received = (res.body as { headers: Record<string, string> }).headers;
    assert.match(received.host ?? '', /^localhost:/, 'it reached the second host');
    for (const name of Object.keys(actionHeaders)) assert.equal(received[name], undefined, `${name} crossed origins`);
  });

  it('keeps them on a redirect within the origin', async () => {
    const res = await client().request({ url: `${firstBase}/here`, method: 'GET', headers: actionHeaders, timeoutMs: 2_000 });
    assert.equal(res.status, 200);
    assert.equal((res.body as { headers: Record<string, string> }).headers['x-api-key'], 'k-123');
  });

  it('refuses a 307 that would re-send the body to another origin', async () => {
    const before = seenBySecond.length;
    await assert.rejects(
      client().request({ url: `${firstBase}/elsewhere-307`, method: 'POST', body: { secret: 's' }, headers: actionHeaders, timeoutMs: 2_000 }),
      { name: 'OutboundRequestRefusedError', message: /307 redirect to another origin/ },
    );
    assert.equal(seenBySecond.length, before, 'the second host saw nothing');
  });
});
