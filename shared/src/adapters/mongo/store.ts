import mongoose, { type ConnectOptions } from 'mongoose';
import { IDEMPOTENCY_WINDOW_MS } from '../../domain/idempotency.js';
import { UnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ExecutionRepo, Repos, Store } from '../../ports/repos.js';
import { endAttemptsInOrder } from '../in-order.js';
import { DEFAULT_MAX_STEP_OUTPUT_BYTES, type StepBoundOptions } from '../step-bound.js';
import { guarded, unavailableOnError } from './errors.js';
import type { ClientSession } from 'mongoose';
import type { MongoContext, SessionOption } from './connection.js';
import { createExecutionRepo } from './executions.js';
import { createIdempotencyRepo } from './idempotency.js';
import { createOutboxRepo } from './outbox.js';
import { createModels, DEFAULT_PUBLISHED_OUTBOX_TTL_SECONDS, OBSOLETE_INDEXES, TTL_INDEX, type Models } from './schema.js';
import { createSecretRepo } from './secrets.js';
import { createUserRepo } from './users.js';
import { createWorkflowRepo } from './workflows.js';

export interface MongoStoreOptions extends StepBoundOptions {
  /** A replica set (transactions need one), e.g. `mongodb://mongo:27017/wf?replicaSet=rs0`. */
  url: string;
  /** The database to use; defaults to the one named in `url`. */
  dbName?: string;
  logger?: Logger;
  /** Connections per server in the driver's pool. Default 20. */
  maxPoolSize?: number;
  /**
   * How long published outbox messages are kept (the relay's OUTBOX_RETENTION): init() makes
   * the outbox TTL index expire them after that, changing it when it differs. Without it, init()
   * leaves an existing TTL as it is and creates a missing one with 24 h.
   */
  outboxRetentionMs?: number;
  /** How long an operation waits for a usable server before it fails as unavailable (a 503). Default 5 s. */
  serverSelectionTimeoutMs?: number;
}

const DEFAULT_MAX_POOL_SIZE = 20;
const SERVER_SELECTION_TIMEOUT_MS = 5_000;
const PING_TIMEOUT_MS = 2_000;
/**
 * `withTransaction` re-runs the work on every transient error (write conflicts, but also
 * network errors, which the driver labels transient inside a transaction) for up to 120 s.
 * Past this budget no new attempt starts, so a flapping server means a prompt 503 rather than
 * a request hanging for two minutes. Write conflicts between live transactions retry in ms.
 */
const TRANSACTION_RETRY_BUDGET_MS = 10_000;
/**
 * Every write is acknowledged by a majority, in a transaction or not (a claim, a saved step, a
 * published mark): one acknowledged by the primary alone is rolled back if it fails over first.
 */
const WRITE_CONCERN = { w: 'majority' } as const;
/** Reads from one majority-committed snapshot, writes acknowledged by a majority: an accepted run survives a failover. */
const TRANSACTION_OPTIONS = { readConcern: { level: 'snapshot' }, writeConcern: WRITE_CONCERN } as const;
/** Server error codes init() expects: an index already there with other options, an index already gone. */
const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_NOT_FOUND = 27;

/** The connection's options (exported for the tests: the store never exposes its connection). */
export function connectionOptions(options: MongoStoreOptions): ConnectOptions {
  return {
    ...(options.dbName ? { dbName: options.dbName } : {}),
    maxPoolSize: options.maxPoolSize ?? DEFAULT_MAX_POOL_SIZE,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? SERVER_SELECTION_TIMEOUT_MS,
    writeConcern: WRITE_CONCERN,
    // While the server is away, operations fail (503) instead of queueing in mongoose.
    bufferCommands: false,
    // Collections and indexes are made by init(), not as a side effect of defining models.
    autoIndex: false,
    autoCreate: false,
    // `ignoreUndefined` stays off: an `undefined` filter value must match nothing, not be
    // dropped (`{ ownerId: undefined }` would match every owner). Writes are compacted instead.
  };
}

function withTimeout<T>(ms: number, work: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const serverCode = (err: unknown): unknown => (err instanceof mongoose.mongo.MongoServerError ? err.code : undefined);

type Db = mongoose.mongo.Db;

/**
 * Makes a TTL index on `field` expire documents after `seconds`. An existing one with another
 * expiry is changed in place (`collMod`) when `adjust`, and left alone otherwise.
 */
async function ensureTtlIndex(db: Db, collection: string, index: { name: string; field: string }, seconds: number, adjust: boolean): Promise<void> {
  try {
    await db.collection(collection).createIndex({ [index.field]: 1 }, { name: index.name, expireAfterSeconds: seconds });
  } catch (err) {
    if (serverCode(err) !== INDEX_OPTIONS_CONFLICT) throw err;
    if (adjust) await db.command({ collMod: collection, index: { name: index.name, expireAfterSeconds: seconds } });
  }
}

async function dropIndexIfPresent(db: Db, collection: string, name: string): Promise<void> {
  await db
    .collection(collection)
    .dropIndex(name)
    .catch((err: unknown) => {
      if (serverCode(err) !== INDEX_NOT_FOUND) throw err;
    });
}

/**
 * The five repositories over `models`. With a `session` every operation runs in that
 * session's transaction; without one, each operation stands alone. Errors other than
 * duplicate keys are left as the driver threw them: inside a transaction `withTransaction`
 * needs their labels to decide on a retry, and the store maps them at its boundary.
 *
 * `serverNow` is store time (see ports/repos.ts): each operation that judges or sets a lease,
 * lock or due time reads it once and uses it as a constant. Not `$$NOW`: the claims' range
 * filters must bound their partial indexes, which `$expr` does not do, and saveStep sets an
 * array element, which an update pipeline cannot express. The cost is one `hello` round trip
 * per such operation, and the time read is that much older than the write: leases end that
 * much sooner, by milliseconds against margins of seconds.
 */
export function createRepos(
  models: Models,
  limits: { maxStepOutputBytes: number },
  serverNow: () => Promise<Date>,
  session?: ClientSession,
  /** Runs `work` in a transaction of its own: how a write made of several stands alone without a session. */
  transaction?: <T>(work: (repos: Repos) => Promise<T>) => Promise<T>,
): Repos {
  const opts: SessionOption = session ? { session } : {};
  const ctx: MongoContext = {
    models,
    limits,
    serverNow,
    session,
    transaction,
    opts,
    claim: { ...opts, returnDocument: 'after' as const },
    leaseFrom: async (ms) => new Date((await serverNow()).getTime() + ms),
  };
  const outbox = createOutboxRepo(ctx);
  const executions: ExecutionRepo = {
    ...createExecutionRepo(ctx),
    async endAttempts(ends) {
      // Three writes per run: atomic in the caller's transaction, or else in one of their own.
      if (session) return endAttemptsInOrder({ executions, workflows, outbox }, ends);
      if (!transaction) throw new Error('endAttempts outside a unit of work needs a transaction runner');
      return transaction((tx) => tx.executions.endAttempts(ends));
    },
  };
  const workflows = createWorkflowRepo(ctx, { executions, outbox });
  return { workflows, executions, outbox, users: createUserRepo(ctx), idempotency: createIdempotencyRepo(ctx), secrets: createSecretRepo(ctx) };
}

/**
 * The MongoDB store, on mongoose with a connection of its own. `uow.run` is
 * `connection.transaction()`, i.e. the driver's `withTransaction`, which re-runs the work on
 * a transient transaction error (a write conflict with a concurrent transaction, a failover)
 * and retries an unknown commit result.
 */
export function createMongoStore(options: MongoStoreOptions): Store {
  const { logger } = options;
  const connectOptions = connectionOptions(options);
  const conn = mongoose.createConnection(options.url, connectOptions);
  // Also what keeps a failed initial connection from being an unhandled rejection.
  conn.on('error', (err: unknown) => logger?.error({ err }, 'mongo connection error'));
  conn.on('disconnected', () => logger?.warn('mongo disconnected'));
  conn.on('reconnected', () => logger?.info('mongo reconnected'));

  const models = createModels(conn);
  // Every operation first waits for the initial connection: a store whose server was never
  // reached answers with that connection's error (a 503), not with mongoose's "not connected".
  // Once connected, the driver reconnects by itself after an outage; a first connection that
  // failed (the server was down at start-up) it leaves failed, so the next use opens it again.
  let opening: Promise<unknown> = conn.asPromise();
  const connected = async (): Promise<void> => {
    const attempt = opening;
    try {
      await attempt;
    } catch (err) {
      if (opening === attempt) {
        opening = conn.openUri(options.url, connectOptions);
        opening.catch(() => undefined); // its failure is reported to whoever awaits it next
      }
      throw err;
    }
  };
  const db = async () => {
    await connected();
    if (!conn.db) throw new UnavailableError('the database is unreachable');
    return conn.db;
  };
  /** Store time: the server's clock, as `hello` reports it (see createRepos for why not `$$NOW`). */
  const serverNow = async (): Promise<Date> => {
    const { localTime } = await (await db()).admin().command({ hello: 1 });
    if (!(localTime instanceof Date)) throw new Error('the MongoDB server did not report its time (hello.localTime)');
    return localTime;
  };
  const limits = { maxStepOutputBytes: options.maxStepOutputBytes ?? DEFAULT_MAX_STEP_OUTPUT_BYTES };
  const inTransaction = <T>(work: (tx: Repos) => Promise<T>): Promise<T> =>
    conn.transaction((session) => work(createRepos(models, limits, serverNow, session)), TRANSACTION_OPTIONS);
  const repos = createRepos(models, limits, serverNow, undefined, inTransaction);

  return {
    kind: 'mongo',
    workflows: guarded(repos.workflows, connected),
    executions: guarded(repos.executions, connected),
    outbox: guarded(repos.outbox, connected),
    users: guarded(repos.users, connected),
    idempotency: guarded(repos.idempotency, connected),
    secrets: guarded(repos.secrets, connected),
    uow: {
      run: (work) =>
        unavailableOnError(async () => {
          await connected();
          const giveUpAt = Date.now() + TRANSACTION_RETRY_BUDGET_MS;
          return conn.transaction((session) => {
            if (Date.now() > giveUpAt) throw new UnavailableError('the database did not complete the transaction in time');
            return work(createRepos(models, limits, serverNow, session));
          }, TRANSACTION_OPTIONS);
        }),
    },
    async init() {
      await unavailableOnError(async () => {
        const database = await db();
        const hello = await database.admin().command({ hello: 1 });
        if (!hello.setName && hello.msg !== 'isdbgrid') {
          throw new Error('MongoDB is a standalone server: the store needs a replica set (or mongos) for its transactions');
        }
        for (const model of Object.values(models)) await model.createIndexes();
        const retention = options.outboxRetentionMs;
        const outboxTtl = retention === undefined ? DEFAULT_PUBLISHED_OUTBOX_TTL_SECONDS : Math.ceil(retention / 1000);
        await ensureTtlIndex(database, models.Outbox.collection.collectionName, TTL_INDEX.publishedOutbox, outboxTtl, retention !== undefined);
        await ensureTtlIndex(database, models.Idempotency.collection.collectionName, TTL_INDEX.idempotencyKeys, IDEMPOTENCY_WINDOW_MS / 1000, true);
        for (const [collection, names] of Object.entries(OBSOLETE_INDEXES)) {
          for (const name of names) await dropIndexIfPresent(database, collection, name);
        }
      });
      logger?.info({ db: conn.name }, 'mongo store ready (indexes ensured)');
    },
    now: () => unavailableOnError(serverNow),
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
