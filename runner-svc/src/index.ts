export { createRunner, type Runner, type RunnerDeps } from './worker/runner.js';
export { ExecutionWorker, type ExecutionWorkerDeps, type HandleOutcome } from './worker/execution-worker.js';
export { createActions, PermanentActionError, HttpStatusError, type ActionRegistry } from './actions/index.js';
export { renderString, renderValue, TemplateError, type TemplateContext } from './templating.js';
export { RunnerEnvSchema, runnerConfig, type RunnerConfig, type RunnerEnv } from './config.js';
export { startRunnerService, type RunnerService, type RunnerServiceDeps } from './service.js';
