import {
  GroupCommit,
  SecretsCipher,
  type Bus,
  type Clock,
  type Logger,
  type Store,
  type Topics,
} from '@wf/shared';
import { createAxiosHttpClient } from '@wf/shared/http';
import { Metrics, type RunningService } from '@wf/shared/ops';
import { startRunnerService, type RunnerConfig } from '@wf/runner-svc';
import { startSchedulerService, type SchedulerConfig } from '@wf/scheduler-svc';
import { createUseCases, JwtAccessTokens, JwtSessionTokens, ScryptPasswordHasher, startWorkflowsService, type WorkflowsConfig } from '@wf/workflows-svc';

export interface SystemOptions {
  store: Store;
  /** The bus each service uses; the end-to-end tests give each its own Kafka client. */
  busFor(service: 'scheduler' | 'runner' | 'workflows'): Bus;
  clock: Clock;
  logger: Logger;
  topics: Topics;
  workflows: WorkflowsConfig;
  scheduler: SchedulerConfig;
  runner: RunnerConfig;
  /** How long each service waits at start-up for the store and the broker (`STARTUP_TIMEOUT`). */
  startupTimeoutMs?: number;
}

export interface RunningSystem extends RunningService {
  /** The REST API's port. */
  readonly port: number;
}

/**
 * The three services wired in one process around one store: the embedded mode, and the
 * end-to-end tests' way of running the whole system. Stops in the reverse order of the
 * flow: the API first (no new work), then the scheduler, then the runner.
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const { store, clock, logger, topics } = options;
  const startup = options.startupTimeoutMs === undefined ? {} : { startupTimeoutMs: options.startupTimeoutMs };
  // Each service gets its own group commit, as it would in its own process.
  const runner = await startRunnerService({
    store,
    groupCommit: new GroupCommit(store),
    bus: options.busFor('runner'),
    http: createAxiosHttpClient({ ...options.runner.http, logger }),
    clock,
    logger: logger.child({ component: 'runner' }),
    topics,
    config: options.runner,
    metrics: new Metrics({ service: 'runner-svc', defaultMetrics: false }),
    ...startup,
  });
  const scheduler = await startSchedulerService({
    store,
    bus: options.busFor('scheduler'),
    clock,
    logger: logger.child({ component: 'scheduler' }),
    topics,
    config: options.scheduler,
    metrics: new Metrics({ service: 'scheduler-svc', defaultMetrics: false }),
    ...startup,
  });
  const metrics = new Metrics({ service: 'workflows-svc' });
  const tokens = new JwtAccessTokens(options.workflows.jwt, clock);
  const sessions = new JwtSessionTokens(options.workflows.jwt, clock);
  const passwords = new ScryptPasswordHasher();
  const secrets = new SecretsCipher(options.workflows.secrets.current, options.workflows.secrets.previous);
  const useCases = createUseCases({ store, clock, topics, tokens, sessions, passwords, groupCommit: new GroupCommit(store), secrets, metrics });
  const api = await startWorkflowsService({
    useCases,
    store,
    bus: options.busFor('workflows'),
    clock,
    logger: logger.child({ component: 'api' }),
    topics,
    config: options.workflows,
    metrics,
    ...startup,
  });
  return {
    port: api.port,
    async stop() {
      await api.stop();
      await scheduler.stop();
      await runner.stop();
    },
  };
}
