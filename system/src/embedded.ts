import { createLogger, loadConfigOrExit } from '@wf/shared';
import { runServiceProcess } from '@wf/shared/ops';
import { RunnerEnvSchema } from '@wf/runner-svc';
import { SchedulerEnvSchema } from '@wf/scheduler-svc';
import { WorkflowsEnvSchema } from '@wf/workflows-svc';
import { startSystemFromEnv } from './from-env.js';

// `npm start`: all three services in one process. With no MONGO_URL, DATABASE_URL or
// KAFKA_BROKERS that is the in-memory store and the in-process bus.
const env = {
  workflows: loadConfigOrExit(WorkflowsEnvSchema, 'embedded'),
  scheduler: loadConfigOrExit(SchedulerEnvSchema, 'embedded'),
  runner: loadConfigOrExit(RunnerEnvSchema, 'embedded'),
};
const logger = createLogger({ level: env.workflows.LOG_LEVEL, service: 'embedded' });

await runServiceProcess({
  name: 'embedded',
  logger,
  async start() {
    const running = await startSystemFromEnv(env, logger);
    logger.info({ url: `http://localhost:${running.system.port}` }, 'API ready');
    return { stop: () => running.stop() };
  },
});
