import {
  busSettings,
  createLogger,
  GroupCommit,
  loadConfigOrExit,
  newSecretsKey,
  storeSettings,
  systemClock,
  topics,
} from '@wf/shared';
import { createAxiosHttpClient } from '@wf/shared/http';
import { createStore, openBus } from '@wf/shared/open';
import { Metrics, runServiceProcess } from '@wf/shared/ops';
import { RunnerEnvSchema, runnerConfig } from './config.js';
import { startRunnerService } from './service.js';

// The composition root of runner-svc: configuration, adapters, the consumer.
const env = loadConfigOrExit(RunnerEnvSchema, 'runner-svc');
const logger = createLogger({ level: env.LOG_LEVEL, service: 'runner-svc' });
if (!env.SECRETS_KEY) logger.warn('SECRETS_KEY is not set (memory store): using a random one; secrets do not survive a restart anyway');
const config = runnerConfig(env, env.SECRETS_KEY ? undefined : newSecretsKey());

await runServiceProcess({
  name: 'runner-svc',
  logger,
  async start() {
    const store = await createStore(storeSettings(env), logger);
    const bus = await openBus(busSettings(env), logger);
    const service = await startRunnerService({
      store,
      groupCommit: new GroupCommit(store),
      bus,
      http: createAxiosHttpClient({ ...config.http, logger }),
      clock: systemClock,
      logger,
      topics: topics(env),
      config,
      metrics: new Metrics({ service: 'runner-svc' }),
      healthPort: env.HEALTH_PORT,
      startupTimeoutMs: env.STARTUP_TIMEOUT,
    });
    return {
      async stop() {
        await service.stop();
        await bus.close();
        await store.close();
      },
    };
  },
});
