import mongoose from 'mongoose';
import { UnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Store } from '../../ports/repos.js';
import { guarded, unavailableOnError } from './errors.js';
import { createModels } from './models.js';
import { createRepos } from './repos.js';

export interface MongoStoreOptions {
  /** A replica set (transactions need one), e.g. `mongodb://mongo:27017/wf?replicaSet=rs0`. */
  url: string;
  /** The database to use; defaults to the one named in `url`. */
  dbName?: string;
  logger?: Logger;
  /** Connections per server in the driver's pool. Default 20. */
  maxPoolSize?: number;
}

const DEFAULT_MAX_POOL_SIZE = 20;
/** How long an operation waits for a usable server before it fails as unavailable (a 503). */
const SERVER_SELECTION_TIMEOUT_MS = 5_000;
const PING_TIMEOUT_MS = 2_000;
/**
 * `withTransaction` re-runs the work on every transient error (write conflicts, but also
 * network errors, which the driver labels transient inside a transaction) for up to 120 s.
 * Past this budget no new attempt starts, so a flapping server means a prompt 503 rather than
 * a request hanging for two minutes. Write conflicts between live transactions retry in ms.
 */
const TRANSACTION_RETRY_BUDGET_MS = 10_000;
/** Reads from one majority-committed snapshot, writes acknowledged by a majority: an accepted run survives a failover. */
const TRANSACTION_OPTIONS = { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } } as const;

function withTimeout<T>(ms: number, work: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The MongoDB store, on mongoose with a connection of its own. `uow.run` is
 * `connection.transaction()`, i.e. the driver's `withTransaction`, which re-runs the work on
 * a transient transaction error (a write conflict with a concurrent transaction, a failover)
 * and retries an unknown commit result.
 */
export function createMongoStore(options: MongoStoreOptions): Store {
  const { logger } = options;
  const conn = mongoose.createConnection(options.url, {
    ...(options.dbName ? { dbName: options.dbName } : {}),
    maxPoolSize: options.maxPoolSize ?? DEFAULT_MAX_POOL_SIZE,
    serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
    // While the server is away, operations fail (503) instead of queueing in mongoose.
    bufferCommands: false,
    // Collections and indexes are made by init(), not as a side effect of defining models.
    autoIndex: false,
    autoCreate: false,
    // `ignoreUndefined` stays off: an `undefined` filter value must match nothing, not be
    // dropped (`{ ownerId: undefined }` would match every owner). Writes are compacted instead.
  });
  // Also what keeps a failed initial connection from being an unhandled rejection.
  conn.on('error', (err: unknown) => logger?.error({ err }, 'mongo connection error'));
  conn.on('disconnected', () => logger?.warn('mongo disconnected'));
  conn.on('reconnected', () => logger?.info('mongo reconnected'));

  const models = createModels(conn);
  // Every operation first waits for the initial connection: a store whose server was never
  // reached answers with that connection's error (a 503), not with mongoose's "not connected".
  const connected = () => conn.asPromise();
  const db = async () => {
    await connected();
    if (!conn.db) throw new UnavailableError('the database is unreachable');
    return conn.db;
  };
  const repos = createRepos(models);

  return {
    kind: 'mongo',
    workflows: guarded(repos.workflows, connected),
    executions: guarded(repos.executions, connected),
    outbox: guarded(repos.outbox, connected),
    users: guarded(repos.users, connected),
    idempotency: guarded(repos.idempotency, connected),
    uow: {
      run: (work) =>
        unavailableOnError(async () => {
          await connected();
          const giveUpAt = Date.now() + TRANSACTION_RETRY_BUDGET_MS;
          return conn.transaction((session) => {
            if (Date.now() > giveUpAt) throw new UnavailableError('the database did not complete the transaction in time');
            return work(createRepos(models, session));
          }, TRANSACTION_OPTIONS);
        }),
    },
    async init() {
      await unavailableOnError(async () => {
        const hello = await (await db()).admin().command({ hello: 1 });
        if (!hello.setName && hello.msg !== 'isdbgrid') {
          throw new Error('MongoDB is a standalone server: the store needs a replica set (or mongos) for its transactions');
        }
        for (const model of Object.values(models)) await model.createIndexes();
      });
      logger?.info({ db: conn.name }, 'mongo store ready (indexes ensured)');
    },
    async ping() {
      await unavailableOnError(async () => {
        await withTimeout(PING_TIMEOUT_MS, db().then((d) => d.admin().ping()), `the database did not answer a ping within ${PING_TIMEOUT_MS} ms`);
      });
    },
    async close() {
      await conn.close();
    },
  };
}
