// A minimal JSON client on node:http with keep-alive, so the load generator costs little
// next to the system it drives (fetch/undici costs noticeably more CPU per request).
import http from 'node:http';

export class ApiClient {
  constructor(baseUrl, { maxSockets = 256 } = {}) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.token = undefined;
  }

  /** Resolves `{ status, body }`; rejects only on network errors. */
  request(method, path, body) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON; keep the text
          }
          resolve({ status: res.statusCode, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async expect(status, method, path, body) {
    const res = await this.request(method, path, body);
    if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async signUp(email = `bench-${process.pid}-${Date.now()}@example.com`, password = 'bench-password-1') {
    const body = await this.expect(201, 'POST', '/auth/signup', { email, password });
    this.token = body.token;
    return this;
  }

  close() {
    this.agent.destroy();
  }
}

/** GET `url` → `{ status, text }` (no keep-alive); rejects on network errors and after `timeoutMs`. */
export function httpGet(url, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Several instances of the same API behind one client, as a load balancer would spread
 * them: each request goes to the next instance in turn. Signs up on the first and uses that
 * token on every instance (they share JWT_SECRET and the store).
 */
export class RoundRobinApi {
  constructor(baseUrls) {
    this.clients = baseUrls.map((url) => new ApiClient(url));
    this.next = 0;
  }

  request(method, path, body) {
    const client = this.clients[this.next++ % this.clients.length];
    return client.request(method, path, body);
  }

  expect(status, method, path, body) {
    return ApiClient.prototype.expect.call(this, status, method, path, body);
  }

  async signUp() {
    const [first, ...others] = this.clients;
    await first.signUp();
    for (const client of others) client.token = first.token;
    return this;
  }

  close() {
    for (const client of this.clients) client.close();
  }
}
