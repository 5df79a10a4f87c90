import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, DEFAULT_TOPICS, GroupCommit, loadConfig, SecretsCipher, silentLogger, type Logger, type Store } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { FakeClock, startForSuite } from '@wf/shared/testing';
import { createUseCases } from '../../src/app/use-cases.js';
import { JwtAccessTokens, JwtSessionTokens } from '../../src/auth/jwt-tokens.js';
import { ScryptPasswordHasher } from '../../src/auth/scrypt-hasher.js';
import { WorkflowsEnvSchema, workflowsConfig, type WorkflowsConfig } from '../../src/config.js';
import { createWorkflowsApp } from '../../src/http/app.js';
import type { ChangeFeed } from '../../src/live/change-feed.js';
import { startHttpServer } from '../../src/server.js';
import { openApiContract } from './openapi-contract.js';

/** A fixed key, so tests may open what the API sealed. */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');
export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export interface Reply {
  status: number;
  headers: Headers;
  // Tests read arbitrary JSON; `any` keeps them short, the assertions are what check it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface CallOptions {
  token?: string;
  /** Sent as JSON (with the JSON content type) unless `raw` is given. */
  body?: unknown;
  /** Sent as is; set the content type yourself in `headers`. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestApi {
  url: string;
  store: Store;
  clock: FakeClock;
  config: WorkflowsConfig;
  /** Every log line the app wrote, raw. */
  logs: string[];
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Signs up a fresh user and returns its token and id. */
  user(email?: string): Promise<{ token: string; userId: string; email: string }>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Leave the response unchecked against the OpenAPI document (only for requests the document cannot describe). */
  uncheckedContract?: boolean;
  /** Extra environment for the config, e.g. low rate limits. */
  env?: Record<string, string>;
  store?: Store;
  readiness?: () => Promise<void>;
  /** The live feed `GET /events` streams (to publish run changes into it). */
  feed?: ChangeFeed;
}

let users = 0;

/** The app composed as `main.ts` composes it, on the memory store and a fake clock; not listening. */
export function composeTestApp(options: StartOptions = {}, logger: Logger = silentLogger) {
  const clock = new FakeClock('2026-03-01T12:00:00.000Z');
  const store = options.store ?? createMemoryStore({ clock });
  const config = workflowsConfig(loadConfig(WorkflowsEnvSchema, { JWT_SECRET: TEST_JWT_SECRET, SECRETS_KEY: TEST_SECRETS_KEY, ...options.env }));
  const tokens = new JwtAccessTokens(config.jwt, clock);
  const sessions = new JwtSessionTokens(config.jwt, clock);
  const groupCommit = new GroupCommit(store);
  const useCases = createUseCases({ store, clock, topics: DEFAULT_TOPICS, tokens, sessions, passwords: new ScryptPasswordHasher(), groupCommit, secrets: new SecretsCipher(TEST_SECRETS_KEY) });
  const app = createWorkflowsApp({
    useCases,
    store,
    logger,
    config,
    ...(options.readiness ? { readiness: options.readiness } : {}),
    ...(options.feed ? { feed: options.feed } : {}),
  });
  return { app, store, clock, config };
}

/** The app over real HTTP on an ephemeral port, on the memory store and a fake clock. */
export async function startApi(options: StartOptions = {}): Promise<TestApi> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', service: 'workflows-svc-test', destination });
  const { app, store, clock, config } = composeTestApp(options, logger);
  const server = await startHttpServer(app, 0, logger, { host: '127.0.0.1', graceMs: 1_000 });
  const url = `http://127.0.0.1:${server.port}`;
  const contract = options.uncheckedContract ? undefined : await openApiContract();

  const call = async (method: string, path: string, o: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) };
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(url + path, { method, headers: { ...headers, ...o.headers }, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const reply = { status: res.status, headers: res.headers, body: parsed, text };
    // Every answer of every API suite must be what the OpenAPI document says it is.
    contract?.check(method, path, reply);
    return reply;
  };

  const user = async (email = `user${++users}-${process.pid}@example.com`) => {
    const res = await call('POST', '/auth/signup', { body: { email, password: 'correct horse battery' } });
    if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
    return { token: res.body.token as string, userId: res.body.userId as string, email };
  };

  return { url, store, clock, config, logs, call, user, close: () => server.close() };
}

export interface ApiSuite {
  api: TestApi;
  /** The signed-up user's. */
  token: string;
  userId: string;
  email: string;
}

/**
 * For a `describe` block: the API started before its tests with one user signed up, and
 * closed after them. `use` receives both, to keep in the suite's own variables.
 */
export function startApiForSuite(use: (suite: ApiSuite) => unknown, options: StartOptions = {}): void {
  startForSuite(async () => {
    const api = await startApi(options);
    return { api, ...(await api.user()), close: () => api.close() };
  }, use);
}

/** Triggers `workflowId` as the user of `token`; the run must be accepted (202): its execution id. */
export async function triggerRun(api: TestApi, token: string, workflowId: string, payload?: object): Promise<string> {
  const res = await api.call('POST', `/workflows/${workflowId}/trigger`, { token, ...(payload ? { body: payload } : {}) });
  assert.equal(res.status, 202, res.text);
  return res.body.executionId as string;
}

/** The workflow's trigger status (idle, busy, pending), as its owner reads it. */
export async function triggerStatus(api: TestApi, token: string, workflowId: string): Promise<string> {
  return (await api.call('GET', `/workflows/${workflowId}`, { token })).body.trigger.status as string;
}

/** The seed's periodic workflow, verbatim. */
export const SEED_WORKFLOW = {
  workflowId: 'recurrent-workflow',
  trigger: { type: 'periodic', interval: '10s' },
  actions: [{ type: 'http-request', url: 'https://google.com', method: 'GET' }],
};

export const manualWorkflow = (workflowId: string, extra: Record<string, unknown> = {}) => ({
  workflowId,
  trigger: { type: 'manual' },
  actions: [{ type: 'log', message: 'hello' }],
  ...extra,
});

export const webhookWorkflow = (workflowId: string) => ({
  workflowId,
  trigger: { type: 'webhook' },
  actions: [{ type: 'log', message: 'hooked' }],
});
