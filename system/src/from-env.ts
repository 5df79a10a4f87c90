import {
  busSettings,
  newSecret,
  newSecretsKey,
  storeSettings,
  systemClock,
  topics,
  type Bus,
  type Logger,
  type Store,
} from '@wf/shared';
import { createStore, openBus } from '@wf/shared/open';
import { runnerConfig, type RunnerEnv } from '@wf/runner-svc';
import { schedulerConfig, type SchedulerEnv } from '@wf/scheduler-svc';
import { workflowsConfig, type WorkflowsEnv } from '@wf/workflows-svc';
import { startSystem, type RunningSystem } from './system.js';

export interface SystemEnv {
  workflows: WorkflowsEnv;
  scheduler: SchedulerEnv;
  runner: RunnerEnv;
}

export interface SystemFromEnv {
  store: Store;
  bus: Bus;
  system: RunningSystem;
  /** Stops the services, then closes the bus and the store. */
  stop(): Promise<void>;
}

/**
 * All three services in one process, on the store and bus the environment selects (the
 * in-memory store and the in-process bus when no URL is set): what `npm start` runs.
 */
export async function startSystemFromEnv(env: SystemEnv, logger: Logger): Promise<SystemFromEnv> {
  const storeKind = storeSettings(env.workflows, { outboxRetentionMs: env.scheduler.OUTBOX_RETENTION });
  const busKind = busSettings(env.workflows);
  if (storeKind.kind === 'memory' || busKind.kind === 'in-process') {
    logger.warn(
      { store: storeKind.kind, bus: busKind.kind },
      '*** EMBEDDED MODE: all three services in one process; nothing in memory survives a restart. Not for production. ***',
    );
  }
  const jwtSecret = env.workflows.JWT_SECRET ?? newSecret();
  if (!env.workflows.JWT_SECRET) logger.warn('JWT_SECRET is not set: generated a random one; tokens will not survive a restart');
  // One key for both services of this process: the API seals with it, the runner opens with it.
  const secretsKey = env.workflows.SECRETS_KEY ?? newSecretsKey();
  if (!env.workflows.SECRETS_KEY) logger.warn('SECRETS_KEY is not set: generated a random one; secrets saved now cannot be read after a restart');
  const store = await createStore(storeKind, logger);
  const bus = await openBus(busKind, logger);
  const system = await startSystem({
    store,
    busFor: () => bus,
    clock: systemClock,
    logger,
    topics: topics(env.workflows),
    workflows: workflowsConfig(env.workflows, jwtSecret, secretsKey),
    scheduler: schedulerConfig(env.scheduler),
    runner: runnerConfig(env.runner, secretsKey),
    startupTimeoutMs: env.workflows.STARTUP_TIMEOUT,
  });
  return {
    store,
    bus,
    system,
    async stop() {
      await system.stop();
      await bus.close();
      await store.close();
    },
  };
}
