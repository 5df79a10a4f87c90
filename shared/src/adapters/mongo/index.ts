/*
 * The MongoDB store (mongoose 9, its own connection). Layout: models.ts (documents, schemas,
 * indexes, mappers), repos.ts (the five repositories, with or without a transaction's
 * session), errors.ts (E11000 -> ConflictError, unreachable -> UnavailableError),
 * mongo-store.ts (connection, unit of work, init, ping, close).
 *
 * What has been exercised, and what has not (no mongod could run where this was written):
 * - Type-checked against mongoose 9.12 and its driver 7.8, whose query filters are typed per
 *   schema; lint-clean.
 * - The contract suite (shared/test/mongo-store.test.ts) and a differential run against the
 *   memory store passed against an in-process stand-in for the server installed under
 *   mongoose's real driver: real mongoose casting, real BSON, real sessions passed to every
 *   operation inside a unit of work. That checks the plumbing, the mappers and the error
 *   mapping; the stand-in's query semantics are only our reading of MongoDB's.
 * - Against an unreachable address, with the real driver: init, ping, uow and repository
 *   calls all end in UnavailableError.
 * - NOT yet run against a real server: index creation and the planner's use of the partial
 *   indexes, the server's E11000 details, write conflicts and withTransaction's retries,
 *   snapshot reads, the TTL index, failover, and whether `$set` accepts values whose field
 *   names hold "." or start with "$" (HTTP bodies do). The first run with MONGO_URL or
 *   MONGOMS_SYSTEM_BINARY set is its first real test; the test file's second suite checks
 *   the index plans and those field names on purpose.
 */
export { createMongoStore, type MongoStoreOptions } from './mongo-store.js';
