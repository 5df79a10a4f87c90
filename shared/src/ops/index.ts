export * from './availability.js';
export * from './backoff.js';
export * from './lifecycle.js';
export * from './metrics.js';
export * from './ops-server.js';
export * from './startup.js';
