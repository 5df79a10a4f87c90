export { startSystem, type SystemOptions, type RunningSystem } from './system.js';
export { startSystemFromEnv, type SystemEnv, type SystemFromEnv } from './from-env.js';
