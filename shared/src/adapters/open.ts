import type { Logger } from '../logger.js';
import type { Bus } from '../ports/bus.js';
import type { Store } from '../ports/repos.js';
import type { BusSettings, StoreSettings } from '../common-config.js';

// Each adapter family is imported only when selected, so a service on PostgreSQL never
// loads mongoose (nor one on the in-process bus kafkajs).

/**
 * Builds the configured store without touching the server: nothing connects until first used,
 * so a service can start (and answer its health checks) while the server is away. Its
 * `init()` (migrations, indexes) is the first use; `prepareDependencies` waits for it.
 */
export async function createStore(settings: StoreSettings, logger: Logger): Promise<Store> {
  const { maxStepOutputBytes, outboxRetentionMs } = settings;
  return settings.kind === 'mongo'
    ? (await import('./mongo/index.js')).createMongoStore({ url: settings.url, logger, maxStepOutputBytes, ...(outboxRetentionMs === undefined ? {} : { outboxRetentionMs }) })
    : settings.kind === 'postgres'
      ? (await import('./postgres/index.js')).createPostgresStore({ url: settings.url, logger, maxStepOutputBytes })
      : (await import('./memory/index.js')).createMemoryStore({ maxStepOutputBytes });
}

export async function openBus(settings: BusSettings, logger: Logger): Promise<Bus> {
  return settings.kind === 'kafka'
    ? (await import('./kafka/index.js')).createKafkaBus({
        brokers: settings.brokers,
        clientId: settings.clientId,
        logger,
        ...(settings.partitions ? { partitions: settings.partitions } : {}),
        ...(settings.commitIntervalMs !== undefined ? { tuning: { commitIntervalMs: settings.commitIntervalMs } } : {}),
      })
    : (await import('./inprocess/index.js')).createInProcessBus({ logger });
}
