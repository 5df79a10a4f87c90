import { Router, type RequestHandler } from 'express';
import { DEFAULT_STARTUP_TIMEOUT_MS, toErrorBody, UnavailableError, type Bus, type Clock, type Topics } from '@wf/shared';
import { healthResponse, prepareDependencies, StartupGate, type Metrics, type RunningService } from '@wf/shared/ops';
import { createWorkflowsApp, type WorkflowsAppDeps } from './http/app.js';
import { feedFromBus } from './live/bus-changes.js';
import { ChangeFeed } from './live/change-feed.js';
import { startHttpServer } from './server.js';

/** The service feeds `GET /events` itself (from the bus when given), so it takes no feed. */
export interface WorkflowsServiceDeps extends Omit<WorkflowsAppDeps, 'feed'> {
  clock: Clock;
  metrics: Metrics;
  /** The run events' topic names, read from `bus`. */
  topics: Topics;
  /** Where run events come from for `GET /events`; without one the stream carries only this instance's workflow writes. */
  bus?: Bus;
  /** How long start-up waits for the store (`STARTUP_TIMEOUT`). */
  startupTimeoutMs?: number;
}

export interface WorkflowsService extends RunningService {
  readonly port: number;
}

/** What answers while the service waits for its store: the probes, `/metrics`, and the OpenAPI document (it needs no store). */
const PROBES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/**
 * The REST API listening on `config.port`, with `/metrics` beside it. It listens at once, so
 * that while it waits for the store (migrations first) `/healthz` answers 200, `/readyz` 503
 * and every other route 503 with `Retry-After`, rather than refusing connections.
 */
export async function startWorkflowsService(deps: WorkflowsServiceDeps): Promise<WorkflowsService> {
  const startup = new StartupGate();
  const { readiness } = deps;
  const first = Router();
  first.use(whileStarting(startup));
  first.get('/metrics', (_req, res, next) => {
    healthResponse('/metrics', { checks: {}, metrics: deps.metrics, beforeScrape: () => sampleStore(deps) })
      .then((r) => (r ? res.status(r.status).type(r.contentType).send(r.body) : next()))
      .catch(next);
  });
  const feed = new ChangeFeed();
  const app = createWorkflowsApp({ ...deps, feed, first, readiness: readiness ? () => startup.check().then(readiness) : startup.check });
  const server = await startHttpServer(app, deps.config.port, deps.logger);
  try {
    await prepareDependencies({ store: deps.store }, { logger: deps.logger, gate: startup, deadline: Date.now() + (deps.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS) });
  } catch (err) {
    feed.close();
    await server.close();
    throw err;
  }
  startup.open();
  // The live feed keeps trying while the broker is away by itself: the API does not wait for it.
  const runEvents = deps.bus ? feedFromBus(deps.bus, deps.topics, feed, deps.logger) : undefined;
  return {
    port: server.port,
    async stop() {
      await runEvents?.stop();
      feed.close(); // ends the event streams, which would otherwise hold the server open until its grace period
      await server.close();
    },
  };
}

function whileStarting(startup: StartupGate): RequestHandler {
  return (req, res, next) => {
    if (startup.isOpen || PROBES.has(req.path)) return next();
    const err = new UnavailableError('the service is starting: its store does not answer yet');
    res.status(err.status).set('Retry-After', String(err.retryAfterSeconds)).json(toErrorBody(err));
  };
}

async function sampleStore({ store, metrics, clock }: WorkflowsServiceDeps): Promise<void> {
  const [counts, backlog] = await Promise.all([store.executions.countByStatus(), store.outbox.backlog(clock.now())]);
  for (const [status, n] of Object.entries(counts)) metrics.executionsByStatus.set({ status }, n);
  metrics.outboxBacklog.set(backlog.count);
  metrics.outboxOldestAge.set(backlog.oldestAgeMs / 1000);
}
