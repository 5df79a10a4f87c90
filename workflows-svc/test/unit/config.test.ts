import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '@wf/shared';
import { WorkflowsEnvSchema, workflowsConfig } from '../../src/config.js';

const SECRET = 'x'.repeat(32);
const KEY = Buffer.alloc(32, 3).toString('base64');
const failing = (env: Record<string, string>) => {
  try {
    loadConfig(WorkflowsEnvSchema, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.variables;
  }
  assert.fail('expected a ConfigError');
};

test('defaults', () => {
  const config = workflowsConfig(loadConfig(WorkflowsEnvSchema, { JWT_SECRET: SECRET, SECRETS_KEY: KEY }));
  assert.deepEqual(config, {
    port: 3000,
    jwt: { secret: SECRET, expiresInSeconds: 3600 },
    trustProxy: 0,
    webRoot: fileURLToPath(new URL('../../../../web/dist/app', import.meta.url)), // the repository's web build
    rateLimits: {
      loginPerEmailAndIp: { windowMs: 900_000, limit: 10 },
      loginPerIp: { windowMs: 900_000, limit: 100 },
      signupPerIp: { windowMs: 3_600_000, limit: 30 },
      signupPerEmail: { windowMs: 3_600_000, limit: 5 },
      triggerPerUser: { windowMs: 60_000, limit: 6_000 },
      triggerPerWorkflow: { windowMs: 60_000, limit: 1_200 },
    },
    loginSlowdown: { windowMs: 900_000, after: 10, maxDelayMs: 10_000 },
    secrets: { current: KEY, previous: [] },
  });
});

test('values are read and shaped', () => {
  const env = loadConfig(WorkflowsEnvSchema, {
    JWT_SECRET: SECRET,
    SECRETS_KEY: KEY,
    PORT: '8080',
    JWT_EXPIRES_IN: '15m',
    PUBLIC_BASE_URL: 'https://api.example.com/',
    TRIGGER_RATE_WINDOW: '10s',
    TRIGGER_RATE_LIMIT_PER_WORKFLOW: '0',
  });
  const config = workflowsConfig(env);
  assert.equal(config.port, 8080);
  assert.equal(config.jwt.expiresInSeconds, 900);
  assert.equal(config.publicBaseUrl, 'https://api.example.com', 'trailing slash removed');
  assert.deepEqual(config.rateLimits.triggerPerWorkflow, { windowMs: 10_000, limit: 0 });
});

test('an empty variable counts as unset', () => {
  const config = workflowsConfig(loadConfig(WorkflowsEnvSchema, { JWT_SECRET: SECRET, SECRETS_KEY: KEY, PORT: '', JWT_EXPIRES_IN: '', PUBLIC_BASE_URL: '' }));
  assert.equal(config.port, 3000);
  assert.equal(config.jwt.expiresInSeconds, 3600);
  assert.equal(config.publicBaseUrl, undefined);
});

test('JWT_SECRET: required with a durable store, at least 32 bytes', () => {
  assert.deepEqual(failing({ MONGO_URL: 'mongodb://db/wf', SECRETS_KEY: KEY }), ['JWT_SECRET']);
  assert.deepEqual(failing({ STORE: 'postgres', DATABASE_URL: 'postgres://db/wf', SECRETS_KEY: KEY }), ['JWT_SECRET']);
  assert.deepEqual(failing({ JWT_SECRET: 'x'.repeat(31) }), ['JWT_SECRET']);
  assert.doesNotThrow(() => loadConfig(WorkflowsEnvSchema, { MONGO_URL: 'mongodb://db/wf', JWT_SECRET: SECRET, SECRETS_KEY: KEY }));
});

test('with the memory store the caller may supply a generated secret instead', () => {
  const env = loadConfig(WorkflowsEnvSchema, {});
  assert.throws(() => workflowsConfig(env), ConfigError);
  assert.throws(() => workflowsConfig(env, 'short'), ConfigError);
  assert.equal(workflowsConfig(env, SECRET, KEY).jwt.secret, SECRET);
  assert.equal(workflowsConfig(loadConfig(WorkflowsEnvSchema, { JWT_SECRET: 'y'.repeat(40) }), SECRET, KEY).jwt.secret, 'y'.repeat(40));
});

test('SECRETS_KEY: required with a durable store, 32 bytes; the memory store may use a generated one; previous keys for a rotation', () => {
  assert.deepEqual(failing({ MONGO_URL: 'mongodb://db/wf', JWT_SECRET: SECRET }), ['SECRETS_KEY']);
  assert.deepEqual(failing({ JWT_SECRET: SECRET, SECRETS_KEY: 'not 32 bytes' }), ['SECRETS_KEY']);
  assert.deepEqual(failing({ JWT_SECRET: SECRET, SECRETS_KEY: KEY, SECRETS_KEY_PREVIOUS: `${KEY},short` }), ['SECRETS_KEY_PREVIOUS']);
  const env = loadConfig(WorkflowsEnvSchema, { JWT_SECRET: SECRET });
  assert.throws(() => workflowsConfig(env), /SECRETS_KEY/);
  assert.deepEqual(workflowsConfig(env, undefined, KEY).secrets, { current: KEY, previous: [] });
  const hex = 'ab'.repeat(32);
  assert.deepEqual(workflowsConfig(loadConfig(WorkflowsEnvSchema, { JWT_SECRET: SECRET, SECRETS_KEY: hex, SECRETS_KEY_PREVIOUS: KEY })).secrets, { current: hex, previous: [KEY] });
});

test('bad values name their variable', () => {
  assert.deepEqual(failing({ JWT_SECRET: SECRET, PORT: 'eighty' }), ['PORT']);
  assert.deepEqual(failing({ JWT_SECRET: SECRET, JWT_EXPIRES_IN: '1 hour' }), ['JWT_EXPIRES_IN']);
  assert.deepEqual(failing({ JWT_SECRET: SECRET, PUBLIC_BASE_URL: 'ftp://x' }), ['PUBLIC_BASE_URL']);
  assert.deepEqual(failing({ JWT_SECRET: SECRET, LOGIN_RATE_LIMIT_PER_IP: '-1' }), ['LOGIN_RATE_LIMIT_PER_IP']);
});
