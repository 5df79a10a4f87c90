import type { Logger } from '../logger.js';
import type { Bus } from '../ports/bus.js';
import type { Store } from '../ports/repos.js';
import type { BusSettings, StoreSettings } from '../settings.js';
import { createInProcessBus } from './inprocess/index.js';
import { createKafkaBus } from './kafka/index.js';
import { createMemoryStore } from './memory/memory-store.js';
import { createMongoStore } from './mongo/index.js';
import { createPostgresStore } from './postgres/index.js';

/** Builds the configured store and prepares it (indexes, migrations). */
export async function openStore(settings: StoreSettings, logger: Logger): Promise<Store> {
  const { maxStepOutputBytes, outboxRetentionMs } = settings;
  const store =
    settings.kind === 'mongo'
      ? createMongoStore({ url: settings.url, logger, maxStepOutputBytes, ...(outboxRetentionMs === undefined ? {} : { outboxRetentionMs }) })
      : settings.kind === 'postgres'
        ? createPostgresStore({ url: settings.url, logger, maxStepOutputBytes })
        : createMemoryStore({ maxStepOutputBytes });
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

export function openBus(settings: BusSettings, logger: Logger): Bus {
  return settings.kind === 'kafka'
    ? createKafkaBus({ brokers: settings.brokers, clientId: settings.clientId, logger, ...(settings.partitions ? { partitions: settings.partitions } : {}) })
    : createInProcessBus({ logger });
}
