export { createPostgresStore, type PostgresStoreOptions } from './store.js';
