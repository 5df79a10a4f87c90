import {
  busSettings,
  createLogger,
  GroupCommit,
  loadConfigOrExit,
  newSecret,
  newSecretsKey,
  SecretsCipher,
  storeSettings,
  systemClock,
  topics,
} from '@wf/shared';
import { createStore, openBus } from '@wf/shared/open';
import { Metrics, runServiceProcess } from '@wf/shared/ops';
import { createUseCases } from './app/use-cases.js';
import { JwtAccessTokens, JwtSessionTokens } from './auth/jwt-tokens.js';
import { ScryptPasswordHasher } from './auth/scrypt-hasher.js';
import { WorkflowsEnvSchema, workflowsConfig } from './config.js';
import { startWorkflowsService } from './service.js';

// The composition root of workflows-svc: configuration, adapters, use cases, the HTTP service.
const env = loadConfigOrExit(WorkflowsEnvSchema, 'workflows-svc');
const logger = createLogger({ level: env.LOG_LEVEL, service: 'workflows-svc' });

await runServiceProcess({
  name: 'workflows-svc',
  logger,
  async start() {
    // Not connected yet: the service starts, answers its probes, and waits for the store itself.
    const store = await createStore(storeSettings(env), logger);
    // Run events for the dashboard's live stream come from the broker; alone, with no broker, there are none to follow.
    const busKind = busSettings(env);
    const bus = busKind.kind === 'kafka' ? await openBus(busKind, logger) : undefined;
    // Only a memory store may run without JWT_SECRET (the schema enforces it): tokens die with the process anyway.
    if (!env.JWT_SECRET) logger.warn('JWT_SECRET is not set: using a random one; tokens will not survive a restart');
    if (!env.SECRETS_KEY) logger.warn('SECRETS_KEY is not set (memory store): using a random one; secrets do not survive a restart anyway');
    const config = workflowsConfig(env, env.JWT_SECRET ? undefined : newSecret(), env.SECRETS_KEY ? undefined : newSecretsKey());
    const metrics = new Metrics({ service: 'workflows-svc' });
    const tokens = new JwtAccessTokens(config.jwt, systemClock);
    const sessions = new JwtSessionTokens(config.jwt, systemClock);
    const groupCommit = new GroupCommit(store);
    const runTopics = topics(env);
    const useCases = createUseCases({ store, clock: systemClock, topics: runTopics, tokens, sessions, passwords: new ScryptPasswordHasher(), groupCommit, secrets: new SecretsCipher(config.secrets.current, config.secrets.previous), metrics });
    const service = await startWorkflowsService({ useCases, store, clock: systemClock, logger, config, metrics, topics: runTopics, ...(bus ? { bus } : {}), startupTimeoutMs: env.STARTUP_TIMEOUT });
    return {
      async stop() {
        await service.stop();
        await bus?.close();
        await store.close();
      },
    };
  },
});
