import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_TOPICS, GroupCommit, loadConfig, newSecretsKey, SecretsCipher, systemClock, type Store } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { Metrics, StartupTimeoutError } from '@wf/shared/ops';
import { capturedLogger, eventually, withOutage } from '@wf/shared/testing';
import { createUseCases } from '../../src/app/use-cases.js';
import { JwtAccessTokens, JwtSessionTokens } from '../../src/auth/jwt-tokens.js';
import { ScryptPasswordHasher } from '../../src/auth/scrypt-hasher.js';
import { WorkflowsEnvSchema, workflowsConfig } from '../../src/config.js';
import { startWorkflowsService } from '../../src/service.js';
import { openApiContract } from '../support/openapi-contract.js';

const config = { ...workflowsConfig(loadConfig(WorkflowsEnvSchema, { JWT_SECRET: 'x'.repeat(32), SECRETS_KEY: newSecretsKey() })), port: 0 };

/** The use cases as `main.ts` composes them, on `store`. */
function useCasesOn(store: Store) {
  const tokens = new JwtAccessTokens(config.jwt, systemClock);
  const sessions = new JwtSessionTokens(config.jwt, systemClock);
  return createUseCases({ store, clock: systemClock, topics: DEFAULT_TOPICS, tokens, sessions, passwords: new ScryptPasswordHasher(), groupCommit: new GroupCommit(store), secrets: new SecretsCipher(config.secrets.current) });
}

/** The port the service listens on, found from its log line (it is not returned until start-up ends). */
async function listeningPort(lines: { msg: string; port?: unknown }[]): Promise<number> {
  const line = await eventually(async () => lines.find((l) => l.msg === 'http server listening'), 20_000, 'the server to listen');
  return Number(line.port);
}

describe('workflows-svc start-up while its store is down', () => {
  test('listens at once: /healthz 200, /readyz 503 naming what it waits for, the API 503 with Retry-After; then serves once the store answers', async () => {
    const { logger, lines } = capturedLogger();
    const outage = withOutage(createMemoryStore());
    outage.down();
    const starting = startWorkflowsService({ useCases: useCasesOn(outage.store), store: outage.store, clock: systemClock, logger, topics: DEFAULT_TOPICS, config, metrics: new Metrics({ defaultMetrics: false }) });
    const url = `http://127.0.0.1:${await listeningPort(lines)}`;
    await eventually(async () => (outage.refused.get('init') ?? 0) >= 2, 20_000, 'start-up to try the store again');

    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.readiness, 'waiting for the store');
    const signup = await fetch(`${url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(signup.status, 503);
    assert.equal(signup.headers.get('retry-after'), '5');
    const text = await signup.text();
    const body = JSON.parse(text) as { error: { code: string } };
    assert.equal(body.error.code, 'unavailable');
    // The 503 is the one the OpenAPI document says (Retry-After required), and the document itself needs no store.
    (await openApiContract()).check('POST', '/auth/signup', { status: signup.status, headers: signup.headers, body, text });
    assert.equal((await fetch(`${url}/openapi.json`)).status, 200);

    outage.up();
    const service = await starting;
    try {
      assert.equal(service.port, Number(new URL(url).port));
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      const ok = await fetch(`${url}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery' }),
      });
      assert.equal(ok.status, 201);
      assert.deepEqual(
        lines.filter((l) => l.msg.includes('the store')).map((l) => l.msg),
        ['the store does not answer; waiting for it', 'the store answers; start-up continues'],
      );
    } finally {
      await service.stop();
    }
  });

  test('gives up after STARTUP_TIMEOUT, saying what did not answer, and stops listening', async () => {
    const { logger, lines } = capturedLogger();
    const outage = withOutage(createMemoryStore());
    outage.down();
    const err = await startWorkflowsService({
      useCases: useCasesOn(outage.store),
      store: outage.store,
      clock: systemClock,
      logger,
      topics: DEFAULT_TOPICS,
      config,
      metrics: new Metrics({ defaultMetrics: false }),
      startupTimeoutMs: 300,
    }).catch((e: unknown) => e);
    assert.ok(err instanceof StartupTimeoutError, String(err));
    assert.match(err.message, /^the store did not answer within STARTUP_TIMEOUT/);
    const port = Number(lines.find((l) => l.msg === 'http server listening')?.port);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the port is closed again');
  });
});
