import {
  busSettings,
  createLogger,
  loadConfigOrExit,
  newSecret,
  storeSettings,
  systemClock,
  topics,
} from '@wf/shared';
import { openBus, openStore } from '@wf/shared/open';
import { Metrics, runServiceProcess } from '@wf/shared/ops';
import { WorkflowsEnvSchema, workflowsConfig } from './config.js';
import { startWorkflowsService } from './service.js';

// The composition root of workflows-svc: configuration, adapters, the HTTP service.
const env = loadConfigOrExit(WorkflowsEnvSchema, 'workflows-svc');
const logger = createLogger({ level: env.LOG_LEVEL, service: 'workflows-svc' });

await runServiceProcess({
  name: 'workflows-svc',
  logger,
  async start() {
    const store = await openStore(storeSettings(env), logger);
    // Run events for the dashboard's live stream come from the broker; alone, with no broker, there are none to follow.
    const busKind = busSettings(env);
    const bus = busKind.kind === 'kafka' ? await openBus(busKind, logger) : undefined;
    // Only a memory store may run without JWT_SECRET (the schema enforces it): tokens die with the process anyway.
    if (!env.JWT_SECRET) logger.warn('JWT_SECRET is not set: using a random one; tokens will not survive a restart');
    const service = await startWorkflowsService({
      store,
      clock: systemClock,
      logger,
      topics: topics(env),
      config: workflowsConfig(env, env.JWT_SECRET ? undefined : newSecret()),
      metrics: new Metrics({ service: 'workflows-svc' }),
      ...(bus ? { bus } : {}),
    });
    return {
      async stop() {
        await service.stop();
        await bus?.close();
        await store.close();
      },
    };
  },
});
