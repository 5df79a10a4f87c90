import type { Store } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { createPostgresStore } from '@wf/shared/postgres';
import { dropSchemas, postgresTier, uniqueSchemaName } from '@wf/shared/testing';

/** A store an API suite runs on: opened fresh for the suite, disposed of after it. */
export interface ApiTestStore {
  readonly name: 'memory' | 'PostgreSQL';
  /** Why this store does not run here (the tier's message), or undefined when it does. */
  readonly skip: string | undefined;
  open(): Promise<Store>;
  /** Closes what `open` made and drops its data. */
  dispose(): Promise<void>;
}

export function memoryTestStore(): ApiTestStore {
  return { name: 'memory', skip: undefined, open: async () => createMemoryStore(), dispose: async () => {} };
}

/** PostgreSQL at `DATABASE_URL`, in a schema of its own that is dropped afterwards. */
export function postgresTestStore(): ApiTestStore {
  const tier = postgresTier();
  const schema = uniqueSchemaName('wf_api');
  let store: Store | undefined;
  return {
    name: 'PostgreSQL',
    skip: tier.skip,
    async open() {
      store = createPostgresStore({ url: tier.url!, schema });
      await store.init();
      return store;
    },
    async dispose() {
      await store?.close();
      if (store) await dropSchemas(tier.url!, schema);
    },
  };
}

/** The stores every store-sensitive API suite runs on. */
export const apiTestStores = (): ApiTestStore[] => [memoryTestStore(), postgresTestStore()];
