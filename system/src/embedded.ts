import {
  busSettings,
  createLogger,
  loadConfigOrExit,
  newSecret,
  openBus,
  openStore,
  runServiceProcess,
  storeSettings,
  systemClock,
  topics,
} from '@wf/shared';
import { RunnerEnvSchema, runnerConfig } from '@wf/runner-svc';
import { SchedulerEnvSchema, schedulerConfig } from '@wf/scheduler-svc';
import { WorkflowsEnvSchema, workflowsConfig } from '@wf/workflows-svc';
import { startSystem } from './system.js';

// `npm start`: all three services in one process. With no MONGO_URL, DATABASE_URL or
// KAFKA_BROKERS that is the in-memory store and the in-process bus.
const workflowsEnv = loadConfigOrExit(WorkflowsEnvSchema, 'embedded');
const schedulerEnv = loadConfigOrExit(SchedulerEnvSchema, 'embedded');
const runnerEnv = loadConfigOrExit(RunnerEnvSchema, 'embedded');
const logger = createLogger({ level: workflowsEnv.LOG_LEVEL, service: 'embedded' });

await runServiceProcess({
  name: 'embedded',
  logger,
  async start() {
    const storeKind = storeSettings(workflowsEnv);
    const busKind = busSettings(workflowsEnv);
    if (storeKind.kind === 'memory' || busKind.kind === 'in-process') {
      logger.warn(
        { store: storeKind.kind, bus: busKind.kind },
        '*** EMBEDDED MODE: all three services in one process; nothing in memory survives a restart. Not for production. ***',
      );
    }
    const jwtSecret = workflowsEnv.JWT_SECRET ?? newSecret();
    if (!workflowsEnv.JWT_SECRET) logger.warn('JWT_SECRET is not set: generated a random one; tokens will not survive a restart');
    const store = await openStore(storeKind, logger);
    const bus = openBus(busKind, logger);
    const system = await startSystem({
      store,
      busFor: () => bus,
      clock: systemClock,
      logger,
      topics: topics(workflowsEnv),
      workflows: workflowsConfig(workflowsEnv, jwtSecret),
      scheduler: schedulerConfig(schedulerEnv),
      runner: runnerConfig(runnerEnv),
    });
    logger.info({ url: `http://localhost:${system.port}` }, 'API ready');
    return {
      async stop() {
        await system.stop();
        await bus.close();
        await store.close();
      },
    };
  },
});
