import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { Metrics } from './metrics.js';

export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  /** Named dependencies that must answer for the service to be ready (store, broker). */
  checks: Record<string, ReadinessCheck>;
  metrics?: Metrics;
  /** Refreshes sampled gauges before a scrape (outbox backlog, counts by status). */
  beforeScrape?: () => Promise<void>;
  /** A check that does not answer within this is a failure. */
  checkTimeoutMs?: number;
}

export type HealthResponse = { status: number; contentType: string; body: string };

const json = (status: number, body: unknown): HealthResponse => ({ status, contentType: 'application/json', body: JSON.stringify(body) });

function withTimeout(check: ReadinessCheck, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms}ms`)), ms);
    check().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/**
 * Answers `/healthz` (the process is alive), `/readyz` (every dependency answers) and
 * `/metrics` (Prometheus). Used by the scheduler's and runner's own small server and by
 * workflows-svc's express app alike, so all three behave the same.
 */
export async function healthResponse(path: string, options: HealthOptions, isStopping = () => false): Promise<HealthResponse | undefined> {
  if (path === '/healthz') return json(200, { status: 'ok' });
  if (path === '/readyz') {
    if (isStopping()) return json(503, { status: 'stopping' });
    const results = await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check, options.checkTimeoutMs ?? 2_000);
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, err instanceof Error ? err.message : String(err)] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r === 'ok');
    return json(ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
  }
  if (path === '/metrics' && options.metrics) {
    await options.beforeScrape?.().catch(() => undefined);
    return { status: 200, contentType: options.metrics.registry.contentType, body: await options.metrics.registry.metrics() };
  }
  return undefined;
}

export interface OpsServer {
  readonly port: number;
  /** Makes `/readyz` answer 503 from now on (called first thing on shutdown). */
  markStopping(): void;
  close(): Promise<void>;
}

/** A tiny HTTP server for services that have no API of their own. */
export async function startOpsServer(port: number, options: HealthOptions & { logger: Logger; host?: string }): Promise<OpsServer> {
  let stopping = false;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    healthResponse(path, options, () => stopping)
      .then((answer) => {
        const response = answer ?? json(404, { error: { code: 'not_found', message: 'not found' } });
        res.writeHead(response.status, { 'content-type': response.contentType }).end(response.body);
      })
      .catch((err: unknown) => {
        options.logger.error({ err }, 'ops endpoint failed');
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'internal_error', message: 'internal error' } }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    markStopping: () => {
      stopping = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
