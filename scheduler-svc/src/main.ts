import { busSettings, createLogger, loadConfigOrExit, storeSettings, systemClock, topics } from '@wf/shared';
import { createStore, openBus } from '@wf/shared/open';
import { Metrics, runServiceProcess } from '@wf/shared/ops';
import { SchedulerEnvSchema, schedulerConfig } from './config.js';
import { startSchedulerService } from './service.js';

// The composition root of scheduler-svc: configuration, adapters, the clock jobs and relay.
const env = loadConfigOrExit(SchedulerEnvSchema, 'scheduler-svc');
const logger = createLogger({ level: env.LOG_LEVEL, service: 'scheduler-svc' });

await runServiceProcess({
  name: 'scheduler-svc',
  logger,
  async start() {
    const store = await createStore(storeSettings(env, { outboxRetentionMs: env.OUTBOX_RETENTION }), logger);
    const bus = await openBus(busSettings(env), logger);
    const service = await startSchedulerService({
      store,
      bus,
      clock: systemClock,
      logger,
      topics: topics(env),
      config: schedulerConfig(env),
      metrics: new Metrics({ service: 'scheduler-svc' }),
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
