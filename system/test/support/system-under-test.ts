import { createLogger, loadConfig, newSecret, newSecretsKey, silentLogger, systemClock, type Bus, type Store, type Topics } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { createInProcessBus } from '@wf/shared/inprocess';
import { createKafkaBus } from '@wf/shared/kafka';
import { RunnerEnvSchema, runnerConfig } from '@wf/runner-svc';
import { SchedulerEnvSchema, schedulerConfig } from '@wf/scheduler-svc';
import { WorkflowsEnvSchema, workflowsConfig } from '@wf/workflows-svc';
import { startSystem, type RunningSystem } from '../../src/system.js';
import { ApiClient } from './api-client.js';
import { FlakyServer, startForSuite } from '@wf/shared/testing';

export interface TestSystem {
  system: RunningSystem;
  /** Every log line the three services wrote (info and above). */
  logs: string[];
  api: ApiClient;
  buses: Bus[];
  stop(): Promise<void>;
}

export interface TestSystemOptions {
  brokers?: string[];
  httpAllowCidrs?: string[];
  /** Another store than a fresh memory one (initialized here, closed by `stop`). */
  store?: Store;
  runnerConcurrency?: number;
  /** How long finished runs are kept (the retention job's period). */
  executionRetentionMs?: number;
}

/**
 * The three services in this process around one in-memory store. With `brokers`, each
 * service gets its own kafkajs client on the real broker and topics unique to this run.
 */
export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const topics: Topics = options.brokers
    ? { requested: `e2e.requested.${suffix}`, result: `e2e.result.${suffix}`, deadLetter: `e2e.dlq.${suffix}` }
    : { requested: 'execution.requested', result: 'execution.result', deadLetter: 'execution.dead-letter' };
  const shared = createInProcessBus({ logger: silentLogger });
  const buses: Bus[] = [];
  const busFor = (service: string): Bus => {
    if (!options.brokers) return shared;
    const bus = createKafkaBus({ brokers: options.brokers, clientId: `e2e-${service}-${suffix}`, logger: silentLogger });
    buses.push(bus);
    return bus;
  };
  // Configured the way the services are: environment variables through their schemas.
  const env = {
    PORT: '0',
    JWT_SECRET: newSecret(),
    SECRETS_KEY: newSecretsKey(),
    LOGIN_RATE_WINDOW: '1m',
    LOGIN_RATE_LIMIT_PER_EMAIL: '0',
    LOGIN_RATE_LIMIT_PER_IP: '0',
    LOGIN_SLOWDOWN_AFTER: '0',
    LOGIN_SLOWDOWN_MAX_DELAY_MS: '0',
    SIGNUP_RATE_WINDOW: '1m',
    SIGNUP_RATE_LIMIT_PER_IP: '0',
    SIGNUP_RATE_LIMIT_PER_EMAIL: '0',
    TRIGGER_RATE_LIMIT_PER_USER: '0',
    TRIGGER_RATE_LIMIT_PER_WORKFLOW: '0',
    SCHEDULER_TICK: '1s',
    SCHEDULER_BATCH_SIZE: '100',
    SCHEDULER_CONCURRENCY: '8',
    SCHEDULER_LEASE_MS: '10000',
    SCHEDULER_REQUEUE_QUEUED_AFTER: '5m',
    OUTBOX_BATCH_SIZE: '200',
    OUTBOX_LOCK_MS: '10000',
    OUTBOX_RETENTION: '1h',
    RUNNER_GROUP_ID: `e2e-runner-${suffix}`,
    RUNNER_CONCURRENCY: String(options.runnerConcurrency ?? 8),
    RUNNER_BATCH_SIZE: '50',
    RUNNER_LEASE_MARGIN_MS: '5000',
    RUNNER_MAX_DELIVERIES: '5',
    HTTP_ALLOW_CIDRS: (options.httpAllowCidrs ?? ['127.0.0.1/32']).join(','),
  };
  const store = options.store ?? createMemoryStore();
  await store.init();
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', service: 'e2e', destination: { write: (line: string) => logs.push(line) } as unknown as NodeJS.WritableStream });
  const system = await startSystem({
    store,
    busFor,
    clock: systemClock,
    logger,
    topics,
    workflows: workflowsConfig(loadConfig(WorkflowsEnvSchema, env)),
    scheduler: {
      ...schedulerConfig(loadConfig(SchedulerEnvSchema, env)),
      // A short retention is checked twice a second, two runs per statement.
      ...(options.executionRetentionMs === undefined ? {} : { executions: { retentionMs: options.executionRetentionMs, everyMs: 500, batchSize: 2 } }),
    },
    runner: runnerConfig(loadConfig(RunnerEnvSchema, env)),
  });
  const api = await new ApiClient(`http://127.0.0.1:${system.port}`).signUp();
  return {
    system,
    logs,
    api,
    buses,
    async stop() {
      await system.stop();
      await Promise.all([...buses, shared].map((b) => b.close()));
      await store.close();
    },
  };
}

/** A test system and a scripted HTTP endpoint for its http-request steps, shared by a `describe` block. */
export interface SystemWithServer {
  sut: TestSystem;
  server: FlakyServer;
}

/**
 * For a `describe` block: a FlakyServer and a test system started before its tests (with the
 * options `options()` gives then, so a store can be opened only when the block runs), both
 * stopped after them. `use` receives them, to keep in the suite's own variables.
 */
export function startSystemForSuite(options: () => Promise<TestSystemOptions> | TestSystemOptions, use: (started: SystemWithServer) => unknown): void {
  startForSuite(async () => {
    const server = await new FlakyServer().start();
    try {
      const sut = await startTestSystem(await options());
      return { sut, server, close: async () => { await sut.stop(); await server.stop(); } };
    } catch (err) {
      await server.stop();
      throw err;
    }
  }, use);
}
