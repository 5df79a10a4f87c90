import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@wf/shared';
import type { Express } from 'express';

export interface HttpServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /**
   * Stops accepting connections, lets requests in flight finish and closes keep-alive
   * connections as they go idle; after `graceMs` cuts whatever is still open. Idempotent.
   */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  host?: string;
  /** How long in-flight requests get to finish on close. */
  graceMs?: number;
}

export async function startHttpServer(app: Express, port: number, logger: Logger, options: HttpServerOptions = {}): Promise<HttpServer> {
  const { host, graceMs = 10_000 } = options;
  const server = createServer();
  // Longer than a typical balancer's idle timeout, so the balancer closes idle connections first.
  server.keepAliveTimeout = 65_000;

  // Responses in progress, so a shutdown can tell their clients not to reuse the connection.
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  server.on('request', (_req, res: ServerResponse) => {
    if (stopping) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    // A response whose headers went out before the shutdown leaves a keep-alive socket behind.
    res.once('finish', () => stopping && setImmediate(() => server.closeIdleConnections()));
  });
  server.on('request', app);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  logger.info({ port: bound }, 'http server listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      stopping = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      const deadline = setTimeout(() => {
        logger.warn({ graceMs, inFlight: inFlight.size }, 'requests still in flight at the shutdown deadline; closing their connections');
        server.closeAllConnections();
      }, graceMs);
      deadline.unref();
      // Stops accepting now; the callback runs once the last connection is gone.
      server.close(() => {
        clearTimeout(deadline);
        logger.info('http server closed');
        resolve();
      });
      server.closeIdleConnections();
    }));

  return { port: bound, close };
}
