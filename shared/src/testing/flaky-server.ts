import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP endpoint whose behaviour is scripted per path: `failures` 500s before it
 * answers 200 (Infinity: always fails). Counts every hit, so tests can prove a step that
 * succeeded was never called again. A path under `/slow/` answers after 1.5 s; one under
 * `/hang/` never answers, and counts in `abandoned` when its caller gives up on it.
 */
export class FlakyServer {
  private server?: Server;
  readonly hits = new Map<string, number>();
  /** When each hit arrived (ms since the epoch), per path. */
  readonly hitTimes = new Map<string, number[]>();
  readonly bodies = new Map<string, unknown[]>();
  /** Requests to `/hang/` paths whose caller closed the connection (aborted them). */
  readonly abandoned = new Map<string, number>();
  /** The headers of every hit, per path, in order. */
  readonly headers = new Map<string, IncomingHttpHeaders[]>();
  private readonly scripts = new Map<string, number>();

  script(path: string, failures: number): string {
    this.scripts.set(path, failures);
    return `${this.url}${path}`;
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | undefined;
    if (!addr) throw new Error('server not started');
    return `http://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const arrivedAt = Date.now();
      void readBody(req).then((body) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const n = (this.hits.get(path) ?? 0) + 1;
        this.hits.set(path, n);
        this.hitTimes.set(path, [...(this.hitTimes.get(path) ?? []), arrivedAt]);
        this.bodies.set(path, [...(this.bodies.get(path) ?? []), body]);
        this.headers.set(path, [...(this.headers.get(path) ?? []), req.headers]);
        if (path.startsWith('/hang/')) {
          res.on('close', () => this.abandoned.set(path, (this.abandoned.get(path) ?? 0) + 1));
          return;
        }
        if (path.startsWith('/echo/')) {
          // Answers with what it was sent, as some APIs do: a test can prove a value sent is not kept.
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ headers: req.headers, body }));
          return;
        }
        if (path.startsWith('/slow/')) {
          setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'), 1_500);
          return;
        }
        const failures = this.scripts.get(path) ?? 0;
        const ok = n > failures;
        res.writeHead(ok ? 200 : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, hit: n }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
