import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAxiosHttpClient, OutboundRequestRefusedError } from '../src/index.js';

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

  it('caps the response body and times out slow answers', async () => {
    await assert.rejects(allowed().request({ url: `${base}/big`, method: 'GET', timeoutMs: 2_000 }), /larger than the cap/);
    await assert.rejects(allowed().request({ url: `${base}/slow`, method: 'GET', timeoutMs: 200 }), /timeout after 200ms/);
  });
});
