export * from './lifecycle.js';
export * from './metrics.js';
export * from './ops-server.js';
