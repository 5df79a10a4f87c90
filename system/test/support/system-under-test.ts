import { newSecret, silentLogger, systemClock, type Bus, type Topics } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { createInProcessBus } from '@wf/shared/inprocess';
import { createKafkaBus } from '@wf/shared/kafka';
import { startSystem, type RunningSystem } from '../../src/system.js';
import { ApiClient } from './api-client.js';

export interface TestSystem {
  system: RunningSystem;
  api: ApiClient;
  buses: Bus[];
  stop(): Promise<void>;
}

/**
 * The three services in this process around one in-memory store. With `brokers`, each
 * service gets its own kafkajs client on the real broker and topics unique to this run.
 */
export async function startTestSystem(options: { brokers?: string[]; httpAllowCidrs?: string[] } = {}): Promise<TestSystem> {
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
  const store = createMemoryStore();
  const system = await startSystem({
    store,
    busFor,
    clock: systemClock,
    logger: silentLogger,
    topics,
    workflows: {
      port: 0,
      jwt: { secret: newSecret(), expiresInSeconds: 3600 },
      trustProxy: 0,
      rateLimits: {
        loginPerEmailAndIp: { windowMs: 60_000, limit: 0 },
        loginPerIp: { windowMs: 60_000, limit: 0 },
        signupPerIp: { windowMs: 60_000, limit: 0 },
        signupPerEmail: { windowMs: 60_000, limit: 0 },
        triggerPerUser: { windowMs: 60_000, limit: 0 },
        triggerPerWorkflow: { windowMs: 60_000, limit: 0 },
      },
      loginSlowdown: { windowMs: 60_000, after: 0, maxDelayMs: 0 },
    },
    scheduler: {
      tick: '1s',
      batchSize: 100,
      concurrency: 8,
      leaseMs: 10_000,
      requeueQueuedAfterMs: 300_000,
      outbox: { batchSize: 200, lockMs: 10_000, retentionMs: 3_600_000 },
    },
    runner: {
      groupId: `e2e-runner-${suffix}`,
      concurrency: 8,
      batchSize: 50,
      leaseMarginMs: 5_000,
      maxDeliveries: 5,
      http: { allowHosts: [], allowCidrs: options.httpAllowCidrs ?? ['127.0.0.1/32'], maxBodyBytes: 1024 * 1024 },
    },
  });
  const api = await new ApiClient(`http://127.0.0.1:${system.port}`).signUp();
  return {
    system,
    api,
    buses,
    async stop() {
      await system.stop();
      await Promise.all([...buses, shared].map((b) => b.close()));
      await store.close();
    },
  };
}
