/*
 * The MongoDB store (mongoose 9, its own connection). Laid out like the other stores:
 * store.ts (connection, unit of work, init, now, ping, close), connection.ts (what every
 * repository is given: models, session, store time; the batch claim), one file per repository
 * (workflows.ts, executions.ts, outbox.ts, users.ts, idempotency.ts, secrets.ts), errors.ts
 * (E11000 -> ConflictError, unreachable -> UnavailableError) and schema.ts (documents, schemas,
 * indexes); each repository maps its own documents.
 *
 * What has been exercised, and what has not (no mongod could run where this was written):
 * - Type-checked against mongoose 9.12 and its driver 7.8, whose query filters are typed per
 *   schema; lint-clean.
 * - The first version's contract suite and a differential run against the memory store (not
 *   the batch claims, TTLs and text-encoded user JSON since) passed against an in-process
 *   stand-in for the server installed under mongoose's real driver: real mongoose casting,
 *   real BSON, real sessions passed to every operation inside a unit of work. That checks the
 *   plumbing, the mappers and the error mapping; the stand-in's query semantics are only our
 *   reading of MongoDB's.
 * - Against an unreachable address, with the real driver: init, ping, uow and repository
 *   calls all end in UnavailableError.
 * - Without a server, every run (shared/test/mongo-store.test.ts, first suite): documents
 *   through the driver's real BSON codec (user JSON comes back exactly, an execution stays far
 *   under 16 MiB), the connection's write concern, the mapping of an unknown commit result.
 *   The claim, requeue and TTL queries were checked against mongoose's casting and strict mode.
 * - NOT yet run against a real server: index creation and the planner's use of the partial
 *   indexes, the server's E11000 details, write conflicts and withTransaction's retries,
 *   snapshot reads, batch claims racing each other, the TTL indexes and their collMod,
 *   failover. The first run with MONGO_URL or MONGOMS_SYSTEM_BINARY set is their first real
 *   test; the test file's last suite checks the indexes, their use by the claims and the
 *   metrics scrape, the round trips of a batch claim (with the profiler) and the TTL changes
 *   on purpose.
 */
export { createMongoStore, type MongoStoreOptions } from './store.js';
