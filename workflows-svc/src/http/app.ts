import type { Logger, Store } from '@wf/shared';
import type { ReadinessCheck } from '@wf/shared/ops';
import { openApiDocument } from './openapi.js';
import express from 'express';
import type { UseCases } from '../app/use-cases.js';
import type { WorkflowsConfig } from '../config.js';
import { ChangeFeed } from '../live/change-feed.js';
import { authenticate } from './middleware/authenticate.js';
import { errorHandler, notFound } from './middleware/error-handler.js';
import { jsonBody } from './middleware/json-body.js';
import { requestContext, requestLoggers } from './middleware/request-context.js';
import { isDashboardBuild, webApp } from './middleware/web-app.js';
import { announceWorkflowChanges } from './middleware/workflow-changes.js';
import { authRoutes } from './routes/auth.js';
import { eventRoutes } from './routes/events.js';
import { executionRoutes } from './routes/executions.js';
import { healthRoutes } from './routes/health.js';
import { runControlRoutes } from './routes/run-control.js';
import { runRoutes } from './routes/runs.js';
import { secretRoutes } from './routes/secrets.js';
import { sessionRoutes } from './routes/session.js';
import { statsRoutes } from './routes/stats.js';
import { hookRoutes, manualTriggerRoutes } from './routes/triggers.js';
import { workflowRoutes } from './routes/workflows.js';

/** What the composition root built: the app creates no adapter and no use case itself. */
export interface WorkflowsAppDeps {
  useCases: UseCases;
  /** Pinged by `/readyz`. */
  store: Store;
  logger: Logger;
  config: WorkflowsConfig;
  /** Extra readiness for `/readyz` besides the store's ping. */
  readiness?: ReadinessCheck;
  /** The changes `GET /events` streams; without one, only this app's own workflow writes. */
  feed?: ChangeFeed;
  /**
   * Handlers ahead of everything else (the service's start-up gate and `/metrics`): given
   * here rather than by mounting this app in another one, which would route every request
   * through two apps.
   */
  first?: express.Router;
}

/**
 * The REST API as an express app, not yet listening (see `startHttpServer`). Order
 * matters: request id and access log first, health probes before any parsing, then the
 * routes that need no login (hooks, auth), then the token check for everything else,
 * before their bodies are read, so an anonymous client cannot make us parse a megabyte.
 */
export function createWorkflowsApp({ useCases, store, logger, config, readiness, feed = new ChangeFeed(), first }: WorkflowsAppDeps): express.Express {
  const deps = { useCases, config, logger };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');

  requestLoggers(app.request, logger);
  if (first) app.use(first);
  app.use(requestContext(logger));
  app.use(healthRoutes({ store, ...(readiness ? { readiness } : {}) }));
  const openApi = openApiDocument(config.publicBaseUrl ? { serverUrl: config.publicBaseUrl } : {});
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  const body = jsonBody();
  app.use(['/hooks', '/auth'], body);
  app.use(hookRoutes(deps));
  app.use(authRoutes(deps));
  // The dashboard's pages and assets need no login (its API calls do).
  if (config.webRoot !== undefined && isDashboardBuild(config.webRoot)) app.use(webApp(config.webRoot));
  app.use(authenticate(useCases.authenticateUser, useCases.resumeSession));
  app.use(body);
  // The busiest route first: a trigger walks past no other router's routes.
  app.use(manualTriggerRoutes(deps));
  app.use(announceWorkflowChanges(feed));
  app.use(sessionRoutes(deps));
  app.use(eventRoutes(feed));
  app.use(workflowRoutes(deps));
  app.use(runRoutes(deps));
  app.use(executionRoutes(deps));
  app.use(runControlRoutes(deps));
  app.use(statsRoutes(deps));
  app.use(secretRoutes(deps));
  app.use(notFound);
  app.use(errorHandler());
  return app;
}
