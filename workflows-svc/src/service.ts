import express from 'express';
import type { Bus, Clock, Topics } from '@wf/shared';
import { healthResponse, type Metrics, type RunningService } from '@wf/shared/ops';
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
}

export interface WorkflowsService extends RunningService {
  readonly port: number;
}

/** The REST API listening on `config.port`, with `/metrics` beside it. */
export async function startWorkflowsService(deps: WorkflowsServiceDeps): Promise<WorkflowsService> {
  const root = express();
  root.disable('x-powered-by');
  root.get('/metrics', (_req, res, next) => {
    healthResponse('/metrics', { checks: {}, metrics: deps.metrics, beforeScrape: () => sampleStore(deps) })
      .then((r) => (r ? res.status(r.status).type(r.contentType).send(r.body) : next()))
      .catch(next);
  });
  const feed = new ChangeFeed();
  const runEvents = deps.bus ? feedFromBus(deps.bus, deps.topics, feed, deps.logger) : undefined;
  root.use(createWorkflowsApp({ ...deps, feed }));
  const server = await startHttpServer(root, deps.config.port, deps.logger);
  return {
    port: server.port,
    async stop() {
      await runEvents?.stop();
      feed.close(); // ends the event streams, which would otherwise hold the server open until its grace period
      await server.close();
    },
  };
}

async function sampleStore({ store, metrics, clock }: WorkflowsServiceDeps): Promise<void> {
  const [counts, backlog] = await Promise.all([store.executions.countByStatus(), store.outbox.backlog(clock.now())]);
  for (const [status, n] of Object.entries(counts)) metrics.executionsByStatus.set({ status }, n);
  metrics.outboxBacklog.set(backlog.count);
  metrics.outboxOldestAge.set(backlog.oldestAgeMs / 1000);
}
