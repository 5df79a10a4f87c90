import { DEFAULT_RETRY_POLICY, MAX_ATTEMPT_RECORDS, SecretNameSchema, type Execution, type Workflow } from '@wf/shared';
import { z } from 'zod';
import { CreateWorkflowBody, LoginBody, PatchWorkflowBody, PutSecretBody, ReplaceWorkflowBody, RerunBody, SignupBody, TriggerPayloadBody } from './schemas/requests.js';
import {
  errorResponse,
  ExecutionPageResponse,
  ExecutionResponse,
  CurrentUserResponse,
  HealthResponse,
  HookResponse,
  LoginResponse,
  ReadinessResponse,
  RecentRunsResponse,
  RunStatsResponse,
  SessionResponse,
  SignupResponse,
  TriggerAcceptedResponse,
  WorkflowPageResponse,
  WorkflowResponse,
  SecretListResponse,
  SecretResponse,
} from './schemas/responses.js';
import { executionSummaryView, executionView, hookView, workflowView } from './views.js';

/*
 * The REST API as OpenAPI 3.1. Request and response schemas are generated from the zod
 * schemas that validate the requests and type the responses (`schemas/`), and the examples
 * are made by the same view functions that make the answers, so none of it can drift.
 * Every status a route answers is listed; the API tests check every real response against
 * this document (test/support/openapi-contract.ts).
 */

/** JSON Schema 2020-12, which OpenAPI 3.1 uses as is: what a client sends (`input`) or receives (`output`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, examples?: Record<string, unknown>) => ({
  content: {
    'application/json': {
      schema,
      ...(examples ? { examples: Object.fromEntries(Object.entries(examples).map(([k, value]) => [k, { value }])) } : {}),
    },
  },
});
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

// Examples, made by the real views from sample domain objects.
const ORIGIN = 'https://workflows.example.org';
const at = new Date('2026-03-01T12:00:00.000Z');
const sampleWorkflow: Workflow = {
  workflowId: 'say-hello',
  ownerId: 'u-1',
  name: 'say-hello',
  enabled: true,
  trigger: { type: 'cron', cron: '*/5 * * * *', timezone: 'Europe/Paris', status: 'idle', nextRunAt: new Date('2026-03-01T12:05:00.000Z') },
  actions: [{ type: 'log', message: 'hello {{trigger.payload.name}}' }],
  retryPolicy: DEFAULT_RETRY_POLICY,
  createdAt: at,
  updatedAt: at,
  version: 1,
};
const sampleExecution: Execution = {
  executionId: '0d3e1c8a-6f51-4a5b-9a0e-2a8f3b7c1d2e',
  workflowId: 'say-hello',
  ownerId: 'u-1',
  workflowVersion: 1,
  actions: sampleWorkflow.actions,
  retryPolicy: DEFAULT_RETRY_POLICY,
  trigger: { type: 'manual', firedAt: at, payload: { name: 'Ada' } },
  status: 'completed',
  attempt: 1,
  retriesLeft: 3,
  steps: [{ index: 0, type: 'log', status: 'succeeded', attempt: 1, output: { message: 'hello Ada' }, startedAt: at, finishedAt: at }],
  createdAt: at,
  updatedAt: at,
  startedAt: at,
  finishedAt: at,
};
/** A run whose first attempt failed on an HTTP 500 and whose retry succeeded. */
const later = new Date(at.getTime() + 1_000);
const retriedExecution: Execution = {
  ...sampleExecution,
  actions: [{ type: 'http-request', url: 'https://api.example.com/orders', method: 'GET' }],
  attempt: 2,
  retriesLeft: 2,
  steps: [{ index: 0, type: 'http-request', status: 'succeeded', attempt: 2, failures: 1, output: { status: 200, body: { orders: [] } }, startedAt: later, finishedAt: later }],
  attempts: [
    {
      attempt: 1,
      endedAs: 'pending_retry',
      startedAt: at,
      finishedAt: at,
      error: 'step 0 (http-request) failed: HTTP 500',
      steps: [{ index: 0, type: 'http-request', status: 'failed', attempt: 1, failures: 1, error: 'HTTP 500', output: { status: 500 }, startedAt: at, finishedAt: at }],
    },
  ],
  updatedAt: later,
  finishedAt: later,
};
const emptyCounts = { queued: 0, running: 0, waiting: 0, pending_retry: 0, completed: 0, failed: 0, cancelled: 0 };
/** The sample run, cancelled while its second step was in flight. */
const cancelledExecution: Execution = {
  ...sampleExecution,
  actions: [...sampleExecution.actions, { type: 'http-request', url: 'https://api.example.com/orders', method: 'POST' }, { type: 'log', message: 'done' }],
  status: 'cancelled',
  steps: [
    sampleExecution.steps[0]!,
    { index: 1, type: 'http-request', status: 'failed', attempt: 1, error: 'cancelled while running', startedAt: at, finishedAt: at },
    { index: 2, type: 'log', status: 'pending' },
  ],
};
const statsWindow = (bucketMs: number, spanMs: number) => ({
  from: new Date(at.getTime() - spanMs + bucketMs).toISOString(),
  to: new Date(at.getTime() + bucketMs).toISOString(),
  bucketMs,
  buckets: [{ start: at.toISOString(), counts: { ...emptyCounts, completed: 3, failed: 1 } }],
  totals: { ...emptyCounts, completed: 3, failed: 1 },
  failureRate: 0.25,
  durationMs: { p50: 120, p95: 900 },
  busiest: [{ workflowId: 'say-hello', runs: 4 }],
  mostFailing: [{ workflowId: 'say-hello', failed: 1, runs: 4 }],
});
const statsExample = { waitingForRetry: 0, hour: statsWindow(60_000, 3_600_000), day: statsWindow(900_000, 86_400_000) };
const sampleToken = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl';
const sampleHook = hookView('h_4kq9Zt2', ORIGIN, 's3cr3t-shown-once');

/** What each error code says, for the examples. */
const ERROR_EXAMPLES: Record<string, { message: string; details?: unknown }> = {
  validation_failed: { message: 'invalid request: trigger.interval', details: [{ path: 'trigger.interval', message: 'must be at least 1s', code: 'custom' }] },
  invalid_json: { message: 'request body is not valid JSON (an object or an array)' },
  bad_request: { message: 'bad request' },
  unauthorized: { message: 'invalid or expired token' },
  not_found: { message: 'workflow "say-hello" not found' },
  email_taken: { message: 'email is already registered' },
  workflow_exists: { message: 'workflow already exists' },
  hook_conflict: { message: 'conflict on workflows_hook_id_key' },
  version_conflict: { message: 'workflow was changed concurrently', details: { currentVersion: 4 } },
  not_a_webhook: { message: 'workflow "say-hello" has no webhook trigger', details: { triggerType: 'manual' } },
  too_many_secrets: { message: 'at most 200 secrets per user; delete one first' },
  workflow_busy: { message: 'workflow "say-hello" is busy', details: { triggerStatus: 'busy' } },
  workflow_disabled: { message: 'workflow "say-hello" is disabled' },
  workflow_deleted: { message: 'workflow "say-hello" of this run was deleted' },
  execution_finished: { message: 'execution "0d3e1c8a-6f51-4a5b-9a0e-2a8f3b7c1d2e" has already finished (completed)', details: { status: 'completed' } },
  execution_not_resumable: { message: 'execution "0d3e1c8a-6f51-4a5b-9a0e-2a8f3b7c1d2e" is completed: only a failed or cancelled run resumes', details: { status: 'completed' } },
  idempotency_key_reused: { message: 'Idempotency-Key was already used for another workflow', details: { workflowId: 'other' } },
  idempotency_conflict: { message: 'conflict on idempotency_keys_pkey' },
  payload_too_large: { message: 'request body is larger than 1mb' },
  unsupported_media_type: { message: 'request body must be application/json' },
  rate_limited: { message: 'too many requests', details: { retryAfterSeconds: 30 } },
  csrf_header_missing: { message: 'a request authenticated by the session cookie must carry x-wf-csrf: 1' },
  unavailable: { message: 'the database is unreachable' },
};

/** An error answer whose `error.code` is one of `codes`, with an example of each. */
function errorAnswer(description: string, codes: [string, ...string[]], headers: Record<string, unknown> = {}) {
  const schema = jsonSchema(errorResponse(codes), 'output');
  const examples = Object.fromEntries(codes.map((code) => [code, { error: { code, ...ERROR_EXAMPLES[code] } }]));
  return { description, headers: { 'X-Request-Id': headerRef('XRequestId'), ...headers }, ...json(schema, examples) };
}

function okAnswer(description: string, schema: string, example: unknown, headers: Record<string, unknown> = {}) {
  return { description, headers: { 'X-Request-Id': headerRef('XRequestId'), ...headers }, ...json(ref(schema), { example }) };
}

const isNonEmpty = <T>(list: T[]): list is [T, ...T[]] => list.length > 0;

/** How an operation is reached, which decides the failures it can answer besides its own. */
interface Reach {
  /** Behind the bearer token: 401. */
  authenticated: boolean;
  /** Its body, if any, goes through the JSON parser: 400 invalid_json, 413, 415. */
  parsesBody: boolean;
  /** It reads or writes the store: 503 when the store is unreachable. */
  usesStore: boolean;
  /** Its path, query or body is validated: 400 validation_failed. */
  validates: boolean;
}

function commonFailures({ authenticated, parsesBody, usesStore, validates }: Reach, own: Record<string, unknown>) {
  const badRequest = [...(validates ? ['validation_failed'] : []), ...(parsesBody ? ['invalid_json', 'bad_request'] : [])];
  return {
    ...(isNonEmpty(badRequest) ? { '400': errorAnswer('Invalid request: `details` names each bad field', badRequest) } : {}),
    ...(authenticated ? { '401': errorAnswer('Missing, invalid or expired token, or its user is gone', ['unauthorized'], { 'WWW-Authenticate': headerRef('WWWAuthenticate') }) } : {}),
    ...(parsesBody ? { '413': errorAnswer('Body larger than 1 MB', ['payload_too_large']), '415': errorAnswer('Body is not JSON', ['unsupported_media_type']) } : {}),
    ...(usesStore ? { '503': unavailable() } : {}),
    ...own,
  };
}

/**
 * While the store is unreachable, or the service is starting and waits for it, every route
 * but the probes and this document answers 503 with `Retry-After` (README, How it works).
 */
const unavailable = () =>
  errorAnswer('The store is unreachable, or the service is starting and waits for it; retry after `Retry-After` seconds', ['unavailable'], {
    'Retry-After': headerRef('RetryAfter'),
  });
const rateLimited = () => errorAnswer('Too many requests; retry after `Retry-After` seconds', ['rate_limited'], { 'Retry-After': headerRef('RetryAfter') });
const notFound = (what: string) => errorAnswer(what, ['not_found']);
const versionConflict = (...more: [] | [string]) => errorAnswer('`If-Match` names an older version (`details.currentVersion`)', ['version_conflict', ...more]);

const API: Reach = { authenticated: true, parsesBody: true, usesStore: true, validates: true };
const PUBLIC: Reach = { authenticated: false, parsesBody: true, usesStore: true, validates: true };

const param = {
  workflowId: { name: 'workflowId', in: 'path', required: true, schema: jsonSchema(z.string().max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/), 'input') },
  executionId: { name: 'executionId', in: 'path', required: true, schema: { type: 'string', maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' } },
  hookId: { name: 'hookId', in: 'path', required: true, schema: { type: 'string' } },
  secret: { name: 'secret', in: 'path', required: true, schema: { type: 'string' } },
  limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  cursor: { name: 'cursor', in: 'query', description: '`nextCursor` of the previous page', schema: { type: 'string', maxLength: 512 } },
  ifMatch: { name: 'If-Match', in: 'header', description: 'The version the change is based on (`3`, `"3"` or the `ETag`); `*` or none: any', schema: { type: 'string' } },
  idempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    description: 'Same key within 24 h: the first run is answered again',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  },
  hookSecret: { name: 'X-Hook-Secret', in: 'header', required: true, schema: { type: 'string' } },
  secretName: { name: 'name', in: 'path', required: true, schema: jsonSchema(SecretNameSchema, 'input') },
};
const secretExample = { name: 'stripe_key', createdAt: at.toISOString(), updatedAt: at.toISOString() };

const triggerAccepted = (location: boolean) =>
  okAnswer(
    'Accepted: the run is queued',
    'TriggerAccepted',
    { executionId: sampleExecution.executionId, status: 'queued' },
    {
      ...(location ? { Location: headerRef('Location') } : {}),
      'Idempotent-Replayed': headerRef('IdempotentReplayed'),
    },
  );
const triggerConflicts = () =>
  errorAnswer('Busy or waiting for a retry (`details.triggerStatus`), disabled, or the key was used for another workflow', [
    'workflow_busy',
    'workflow_disabled',
    'idempotency_key_reused',
    'idempotency_conflict',
  ]);
const payloadBody = { required: false, ...json(ref('TriggerPayload'), { example: { name: 'Ada' } }) };
const hookCall = (operationId: string, summary: string, parameters: unknown[]) => ({
  post: {
    operationId,
    summary,
    tags: ['triggers'],
    security: [],
    parameters,
    requestBody: payloadBody,
    responses: commonFailures(PUBLIC, { '202': triggerAccepted(false), '404': notFound('Unknown hook or wrong secret (alike)'), '409': triggerConflicts(), '429': rateLimited() }),
  },
});

const CHANGES = new Set(['post', 'put', 'patch', 'delete']);

/**
 * Every operation behind the login that changes something may also answer 403
 * `csrf_header_missing`: a request authenticated by the dashboard's session cookie must
 * carry `X-WF-CSRF: 1` (README, Dashboard). Added here once rather than to each operation.
 */
function withCsrfRefusals<D extends { paths: Record<string, Record<string, unknown>> }>(document: D): D {
  const refusal = errorAnswer('Authenticated by the session cookie without `X-WF-CSRF: 1`', ['csrf_header_missing']);
  for (const item of Object.values(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const operation = op as { security?: unknown[]; responses?: Record<string, unknown> };
      if (!CHANGES.has(method) || (Array.isArray(operation.security) && operation.security.length === 0) || !operation.responses) continue;
      operation.responses['403'] ??= refusal;
    }
  }
  return document;
}

export interface OpenApiOptions {
  /** Where clients reach the API (`PUBLIC_BASE_URL`). */
  serverUrl?: string;
}

export function openApiDocument({ serverUrl }: OpenApiOptions = {}): Record<string, unknown> {
  const workflowExample = workflowView(sampleWorkflow, ORIGIN);
  const workflowHeaders = { ETag: headerRef('ETag') };
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'Workflow automation API',
      version: '1.0.0',
      description: 'Define workflows (a trigger and ordered actions), run them, and read their execution history. Errors are `{"error":{"code","message","details?"}}`.',
    },
    // Relative to where the document was fetched from, unless PUBLIC_BASE_URL says where clients reach the API.
    servers: [{ url: serverUrl ?? '/', description: serverUrl ? 'This deployment' : 'The server that serves this document' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'ops', description: 'Probes and this document' },
      { name: 'auth', description: 'Accounts and tokens' },
      { name: 'workflows', description: 'Workflow definitions' },
      { name: 'triggers', description: 'Running workflows' },
      { name: 'executions', description: 'Run history' },
      { name: 'secrets', description: 'Values actions use as `{{secrets.NAME}}`, never returned' },
    ],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      headers: {
        XRequestId: { description: 'The request id, also on every log line', schema: { type: 'string' } },
        ETag: { description: 'The workflow version, for `If-Match`', schema: { type: 'string', pattern: '^"[0-9]+"$' } },
        Location: { description: 'Where the new resource is', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
        IdempotentReplayed: { description: '`true` when an earlier request with the same key created the run', schema: { type: 'string', enum: ['true'] } },
        WWWAuthenticate: { description: 'The scheme to use', required: true, schema: { type: 'string', enum: ['Bearer'] } },
      },
      schemas: {
        Signup: jsonSchema(SignupBody, 'input'),
        Login: jsonSchema(LoginBody, 'input'),
        CreateWorkflow: jsonSchema(CreateWorkflowBody, 'input'),
        ReplaceWorkflow: jsonSchema(ReplaceWorkflowBody, 'input'),
        PatchWorkflow: jsonSchema(PatchWorkflowBody, 'input'),
        TriggerPayload: jsonSchema(TriggerPayloadBody, 'input'),
        Rerun: jsonSchema(RerunBody, 'input'),
        SignupResult: jsonSchema(SignupResponse, 'output'),
        Token: jsonSchema(LoginResponse, 'output'),
        Workflow: jsonSchema(WorkflowResponse, 'output'),
        WorkflowPage: jsonSchema(WorkflowPageResponse, 'output'),
        Hook: jsonSchema(HookResponse, 'output'),
        TriggerAccepted: jsonSchema(TriggerAcceptedResponse, 'output'),
        Execution: jsonSchema(ExecutionResponse, 'output'),
        ExecutionPage: jsonSchema(ExecutionPageResponse, 'output'),
        Health: jsonSchema(HealthResponse, 'output'),
        Readiness: jsonSchema(ReadinessResponse, 'output'),
        Session: jsonSchema(SessionResponse, 'output'),
        CurrentUser: jsonSchema(CurrentUserResponse, 'output'),
        RunStats: jsonSchema(RunStatsResponse, 'output'),
        RecentRuns: jsonSchema(RecentRunsResponse, 'output'),
        PutSecret: jsonSchema(PutSecretBody, 'input'),
        Secret: jsonSchema(SecretResponse, 'output'),
        SecretList: jsonSchema(SecretListResponse, 'output'),
        OpenApiDocument: { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { type: 'string' }, info: { type: 'object' }, paths: { type: 'object' } } },
      },
    },
    paths: {
      '/healthz': {
        get: { operationId: 'getHealth', summary: 'Liveness', tags: ['ops'], security: [], responses: { '200': okAnswer('Alive', 'Health', { status: 'ok' }) } },
      },
      '/readyz': {
        get: {
          operationId: 'getReadiness',
          summary: 'Readiness: the store (and the bus) answer',
          tags: ['ops'],
          security: [],
          responses: {
            '200': okAnswer('Ready', 'Readiness', { status: 'ready', checks: { store: 'ok' } }),
            '503': okAnswer('Not ready; `checks` says what does not answer', 'Readiness', { status: 'unavailable', checks: { store: 'the database is unreachable' } }),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          tags: ['ops'],
          security: [],
          responses: { '200': okAnswer('OpenAPI 3.1', 'OpenApiDocument', { openapi: '3.1.0', info: { title: 'Workflow automation API', version: '1.0.0' }, paths: {} }) },
        },
      },
      '/auth/signup': {
        post: {
          operationId: 'signUp',
          summary: 'Create an account and get a token',
          tags: ['auth'],
          security: [],
          requestBody: { required: true, ...json(ref('Signup'), { example: { email: 'ada@example.com', password: 'correct horse battery' } }) },
          responses: commonFailures(PUBLIC, {
            '201': okAnswer('Signed up', 'SignupResult', { userId: 'a8e95233-2532-4eea-84b6-a7efeb789f5e', email: 'ada@example.com', token: sampleToken, expiresIn: 3600 }),
            '409': errorAnswer('The email has an account (see the README on why this is said)', ['email_taken']),
            '429': rateLimited(),
          }),
        },
      },
      '/auth/login': {
        post: {
          operationId: 'logIn',
          summary: 'Get a token',
          tags: ['auth'],
          security: [],
          requestBody: { required: true, ...json(ref('Login'), { example: { email: 'ada@example.com', password: 'correct horse battery' } }) },
          responses: commonFailures(PUBLIC, {
            '200': okAnswer('A token', 'Token', { token: sampleToken, expiresIn: 3600 }),
            '401': errorAnswer('Wrong password or unknown email (alike)', ['unauthorized']),
            '429': rateLimited(),
          }),
        },
      },
      '/auth/session': {
        post: {
          operationId: 'startSession',
          summary: "The dashboard's login: the same credentials and limits as /auth/login; the token goes into an HttpOnly cookie (`wf_session`), never into the body",
          tags: ['auth'],
          security: [],
          requestBody: { required: true, ...json(ref('Login'), { example: { email: 'ada@example.com', password: 'correct horse battery' } }) },
          responses: commonFailures(PUBLIC, {
            '200': okAnswer('Signed in; `Set-Cookie: wf_session=…; HttpOnly; SameSite=Strict`', 'Session', { userId: 'a8e95233-2532-4eea-84b6-a7efeb789f5e', email: 'ada@example.com', expiresIn: 3600 }),
            '401': errorAnswer('Wrong password or unknown email (alike)', ['unauthorized']),
            '429': rateLimited(),
          }),
        },
        get: {
          operationId: 'getSession',
          summary: 'Who is signed in',
          tags: ['auth'],
          responses: commonFailures({ ...API, parsesBody: false, validates: false }, { '200': okAnswer('The user', 'CurrentUser', { userId: 'a8e95233-2532-4eea-84b6-a7efeb789f5e', email: 'ada@example.com' }) }),
        },
        delete: {
          operationId: 'endSessions',
          summary: 'Log out: every dashboard session of the user ends, in the store (a request with the cookie must carry `X-WF-CSRF: 1`)',
          tags: ['auth'],
          responses: commonFailures(
            { ...API, validates: false },
            {
              '204': { description: 'Logged out; the cookie is cleared', headers: { 'X-Request-Id': headerRef('XRequestId') } },
              '403': errorAnswer('A cookie request without the CSRF header', ['csrf_header_missing']),
            },
          ),
        },
      },
      '/events': {
        get: {
          operationId: 'streamEvents',
          summary: "The caller's run and workflow changes, as server-sent events",
          description:
            'Events: `ready` (where the client stands), `run` `{executionId, workflowId, status, attempt}`, `workflow` `{workflowId, deleted}`, and `reset` when a reconnect with `Last-Event-ID` cannot be resumed (refetch then). Every event has an `id`.',
          tags: ['executions'],
          parameters: [{ name: 'Last-Event-ID', in: 'header', schema: { type: 'string', maxLength: 64 }, description: 'Resume after this event' }],
          responses: commonFailures(
            { ...API, parsesBody: false, validates: false },
            { '200': { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' }, example: 'id: Zx8.12\nevent: run\ndata: {"executionId":"…","workflowId":"say-hello","status":"completed","attempt":1}\n\n' } } } },
          ),
        },
      },
      '/stats': {
        get: {
          operationId: 'getRunStats',
          summary: "The caller's runs over the last hour (by minute) and day (by 15 minutes): counts by status, failure rate, duration p50/p95, busiest and most failing workflows, runs waiting for a retry",
          tags: ['executions'],
          responses: commonFailures({ ...API, parsesBody: false }, { '200': okAnswer('Aggregates, computed by the store', 'RunStats', statsExample) }),
        },
      },
      '/recent-runs': {
        get: {
          operationId: 'getRecentRuns',
          summary: 'The newest 20 runs of each workflow named (outcome strips)',
          tags: ['executions'],
          parameters: [{ name: 'workflowIds', in: 'query', required: true, schema: { type: 'string' }, description: 'Comma-separated, at most 100' }],
          responses: commonFailures({ ...API, parsesBody: false }, {
            '200': okAnswer('Newest first, per workflow', 'RecentRuns', { items: { 'say-hello': [{ executionId: sampleExecution.executionId, status: 'completed', createdAt: at.toISOString(), finishedAt: at.toISOString() }] } }),
          }),
        },
      },
      '/secrets': {
        get: {
          operationId: 'listSecrets',
          summary: "The caller's secrets: names and dates, never values",
          tags: ['secrets'],
          responses: commonFailures({ ...API, parsesBody: false, validates: false }, { '200': okAnswer('By name', 'SecretList', { items: [secretExample] }) }),
        },
      },
      '/secrets/{name}': {
        parameters: [param.secretName],
        put: {
          operationId: 'putSecret',
          summary: 'Create or replace a secret (sealed with AES-256-GCM; use it in any action field as `{{secrets.NAME}}`)',
          tags: ['secrets'],
          requestBody: { required: true, ...json(ref('PutSecret'), { example: { value: 'sk_live_…' } }) },
          responses: commonFailures(API, {
            '200': okAnswer('Replaced', 'Secret', secretExample),
            '201': okAnswer('Created', 'Secret', secretExample),
            '409': errorAnswer('The caller has as many secrets as allowed', ['too_many_secrets']),
          }),
        },
        delete: {
          operationId: 'deleteSecret',
          summary: 'Delete a secret (steps that use it then fail: not set)',
          tags: ['secrets'],
          responses: commonFailures({ ...API, parsesBody: false }, {
            '204': { description: 'Deleted', headers: { 'X-Request-Id': headerRef('XRequestId') } },
            '404': notFound('No such secret'),
          }),
        },
      },
      '/executions': {
        get: {
          operationId: 'listRuns',
          summary: "The caller's runs across workflows, newest first, filtered",
          description: 'Every filter is served from an index of the owner\'s runs by creation time (and of one workflow\'s, with `workflowId`) on every store. `status` is a comma list, e.g. `failed,cancelled`.',
          tags: ['executions'],
          parameters: [
            param.limit,
            param.cursor,
            { name: 'workflowId', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', schema: { type: 'string' }, description: 'Comma-separated statuses' },
            { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Created at or after' },
            { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'Created before' },
            { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'The same as `from`' },
            { name: 'until', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'The same as `to`' },
          ],
          responses: commonFailures({ ...API, parsesBody: false }, { '200': okAnswer('A page of run summaries', 'ExecutionPage', { items: [executionSummaryView(sampleExecution)] }) }),
        },
      },
      '/workflows': {
        post: {
          operationId: 'createWorkflow',
          summary: 'Create a workflow',
          tags: ['workflows'],
          requestBody: {
            required: true,
            ...json(ref('CreateWorkflow'), {
              example: { workflowId: 'say-hello', trigger: { type: 'cron', cron: '*/5 * * * *', timezone: 'Europe/Paris' }, actions: [{ type: 'log', message: 'hello {{trigger.payload.name}}' }] },
              // A filter, a durable delay, a step skipped by its `if`, and the settings any step may carry.
              conditionsAndStepSettings: {
                workflowId: 'big-orders',
                trigger: { type: 'webhook' },
                actions: [
                  { type: 'filter', when: { '>=': [{ var: 'trigger.payload.amount' }, 100] } },
                  { type: 'delay', duration: '15m' },
                  {
                    type: 'http-request',
                    method: 'POST',
                    url: 'https://api.example.com/orders',
                    body: { order: '{{trigger.payload.id}}' },
                    timeoutMs: 5_000,
                    retry: { maxRetries: 5, baseDelayMs: 500, maxDelayMs: 10_000 },
                  },
                  { type: 'http-request', method: 'POST', url: 'https://chat.example.com/notify', if: { '==': [{ var: 'trigger.payload.vip' }, true] }, continueOnError: true },
                ],
              },
            }),
          },
          responses: commonFailures(API, {
            '201': okAnswer('Created (a webhook workflow: `hook.secret`, shown this once)', 'Workflow', workflowExample, { ...workflowHeaders, Location: headerRef('Location') }),
            '409': errorAnswer('The workflowId is taken', ['workflow_exists', 'hook_conflict']),
          }),
        },
        get: {
          operationId: 'listWorkflows',
          summary: 'List workflows, by workflowId',
          tags: ['workflows'],
          parameters: [param.limit, param.cursor, { name: 'prefix', in: 'query', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' }, description: 'Only the workflows whose id starts with it' }],
          responses: commonFailures(API, { '200': okAnswer('A page of workflows', 'WorkflowPage', { items: [workflowExample] }) }),
        },
      },
      '/workflows/{workflowId}': {
        parameters: [param.workflowId],
        get: {
          operationId: 'getWorkflow',
          summary: 'Read a workflow',
          tags: ['workflows'],
          responses: commonFailures(API, { '200': okAnswer('The workflow', 'Workflow', workflowExample, workflowHeaders), '404': notFound('No such workflow (or not yours)') }),
        },
        put: {
          operationId: 'replaceWorkflow',
          summary: 'Replace a workflow',
          tags: ['workflows'],
          parameters: [param.ifMatch],
          requestBody: { required: true, ...json(ref('ReplaceWorkflow'), { example: { trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'hello' }] } }) },
          responses: commonFailures(API, {
            '200': okAnswer('Replaced (version + 1)', 'Workflow', workflowExample, workflowHeaders),
            '404': notFound('No such workflow (or not yours)'),
            '409': versionConflict(),
          }),
        },
        patch: {
          operationId: 'patchWorkflow',
          summary: 'Change the fields given, keep the rest',
          tags: ['workflows'],
          parameters: [param.ifMatch],
          requestBody: {
            required: true,
            ...json(ref('PatchWorkflow'), { example: { enabled: false }, keepFewerRuns: { retention: { maxRuns: 100 } }, queueOverlappingRuns: { trigger: { type: 'periodic', interval: '1m', overlap: 'queue' } } }),
          },
          responses: commonFailures(API, {
            '200': okAnswer('Changed (version + 1)', 'Workflow', workflowExample, workflowHeaders),
            '404': notFound('No such workflow (or not yours)'),
            '409': versionConflict(),
          }),
        },
        delete: {
          operationId: 'deleteWorkflow',
          summary: 'Delete a workflow (its executions stay)',
          tags: ['workflows'],
          parameters: [param.ifMatch],
          responses: commonFailures(API, {
            '204': { description: 'Deleted', headers: { 'X-Request-Id': headerRef('XRequestId') } },
            '404': notFound('No such workflow (or not yours)'),
            '409': versionConflict(),
          }),
        },
      },
      '/workflows/{workflowId}/trigger': {
        parameters: [param.workflowId],
        post: {
          operationId: 'triggerWorkflow',
          summary: 'Run a workflow now',
          tags: ['triggers'],
          parameters: [param.idempotencyKey],
          requestBody: payloadBody,
          responses: commonFailures(API, {
            '202': triggerAccepted(true),
            '404': notFound('No such workflow (or not yours)'),
            '409': triggerConflicts(),
            '429': rateLimited(),
          }),
        },
      },
      '/workflows/{workflowId}/hook/rotate': {
        parameters: [param.workflowId],
        post: {
          operationId: 'rotateHookSecret',
          summary: 'Replace the webhook secret (the old one stops working)',
          tags: ['triggers'],
          parameters: [param.ifMatch],
          responses: commonFailures(API, {
            '200': okAnswer('The hook with its new secret, shown this once', 'Hook', sampleHook, workflowHeaders),
            '404': notFound('No such workflow (or not yours)'),
            '409': versionConflict('not_a_webhook'),
          }),
        },
      },
      '/workflows/{workflowId}/executions': {
        parameters: [param.workflowId],
        get: {
          operationId: 'listExecutions',
          summary: 'Execution history, newest first (summaries: no steps, no payload)',
          tags: ['executions'],
          parameters: [param.limit, param.cursor],
          responses: commonFailures(API, {
            '200': okAnswer('A page of executions', 'ExecutionPage', { items: [executionSummaryView(sampleExecution)] }),
            '404': notFound('No such workflow (or not yours)'),
          }),
        },
      },
      '/executions/{executionId}': {
        parameters: [param.executionId],
        get: {
          operationId: 'getExecution',
          summary: 'One execution with its trigger payload, steps and earlier attempts',
          description: `\`steps\` is the current attempt; \`attempts\` the earlier ones, oldest first, each with the steps that ran on it: the newest ${MAX_ATTEMPT_RECORDS} at most.`,
          tags: ['executions'],
          responses: commonFailures(API, {
            '200': okAnswer('The execution (here, retried once)', 'Execution', executionView(retriedExecution)),
            '404': notFound('No such execution (or not yours)'),
          }),
        },
      },
      '/executions/{executionId}/cancel': {
        parameters: [param.executionId],
        post: {
          operationId: 'cancelExecution',
          summary: 'Cancel a run that has not finished (queued, running, waiting for a retry); idempotent',
          description:
            'A queued or waiting run ends `cancelled` at once and its workflow is free again. A running run stops before its next step and an http-request step in flight is aborted (that step ends `failed` with "cancelled while running"; steps that never started stay `pending`). A cancel that races the run\'s own finish has one winner.',
          tags: ['executions'],
          responses: commonFailures(API, {
            '200': okAnswer('The run, cancelled (also when it already was)', 'Execution', executionView(cancelledExecution)),
            '404': notFound('No such execution (or not yours)'),
            '409': errorAnswer('The run already completed or failed (`details.status`)', ['execution_finished']),
          }),
        },
      },
      '/executions/{executionId}/retry': {
        parameters: [param.executionId],
        post: {
          operationId: 'rerunExecution',
          summary: 'Run a failed or cancelled run again, from the step that did not succeed or from the start',
          description:
            'No body or `{"from":"failed-step"}`: the same execution is queued on its next attempt with a fresh retry budget; steps that succeeded keep their outputs and do not run again. `{"from":"start"}`: a new execution of the workflow as it is now, with the same trigger payload and `rerunOf` naming this one. Refused like any trigger while the workflow is busy.',
          tags: ['triggers'],
          requestBody: { required: false, ...json(ref('Rerun'), { example: { from: 'start' } }) },
          responses: commonFailures(API, {
            '202': okAnswer('Accepted: the run is queued (`Location` names it)', 'TriggerAccepted', { executionId: sampleExecution.executionId, status: 'queued' }, { Location: headerRef('Location') }),
            '404': notFound('No such execution (or not yours)'),
            '409': errorAnswer('The workflow is busy, disabled or deleted, or (from the failed step) the run is not failed or cancelled', [
              'workflow_busy',
              'workflow_disabled',
              'workflow_deleted',
              'execution_not_resumable',
            ]),
            '429': rateLimited(),
          }),
        },
      },
      '/hooks/{hookId}': { parameters: [param.hookId], ...hookCall('callHook', 'Call a webhook (secret in X-Hook-Secret)', [param.hookSecret, param.idempotencyKey]) },
      '/hooks/{hookId}/{secret}': {
        parameters: [param.hookId, param.secret],
        ...hookCall('callHookWithSecretInPath', 'Call a webhook (secret in the path, for senders that cannot set headers)', [param.idempotencyKey]),
      },
    },
  };
  return withCsrfRefusals(document);
}
