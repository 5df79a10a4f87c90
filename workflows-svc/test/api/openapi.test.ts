import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startForSuite } from '@wf/shared/testing';
import { composeTestApp, startApi, type TestApi } from '../support/api.js';
import { openApiContract } from '../support/openapi-contract.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD /path` the express app really routes, in OpenAPI's `{param}` form. */
function realRoutes(): Set<string> {
  const app = composeTestApp().app as unknown as { router: { stack: Layer[] } };
  const routes = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) {
          if (method === '_all') continue;
          routes.add(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(app.router.stack);
  return routes;
}

interface Operation {
  operationId?: string;
  security?: unknown[];
  responses: Record<string, { content?: { 'application/json': { schema: unknown; examples?: Record<string, unknown> } } }>;
}
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document', () => {
  let api: TestApi;
  let doc: {
    openapi: string;
    servers: Array<{ url: string }>;
    security: unknown[];
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, unknown> };
  };
  startForSuite(() => startApi(), async (started) => {
    api = started;
    const res = await api.call('GET', '/openapi.json');
    assert.equal(res.status, 200);
    doc = res.body;
  });

  it('is OpenAPI 3.1 and documents exactly the routes the app serves', () => {
    assert.equal(doc.openapi, '3.1.0');
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k)).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const real = realRoutes();
    assert.ok(real.size >= 15, `found the app's routes (${real.size})`);
    assert.deepEqual([...real].filter((r) => !documented.has(r)).sort(), [], 'served but not documented');
    assert.deepEqual([...documented].filter((r) => !real.has(r)).sort(), [], 'documented but not served');
  });

  it('generates request bodies from the zod schemas that validate them', () => {
    const create = doc.components.schemas.CreateWorkflow as { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
    assert.deepEqual(create.required.sort(), ['actions', 'trigger', 'workflowId']);
    assert.equal(create.additionalProperties, false, 'unknown fields are rejected, and the document says so');
    assert.ok(JSON.stringify(create.properties.trigger).includes('periodic'));
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).filter(([m]) => METHODS.includes(m)).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, op })));

  it('names every operation, says which are public, and where the server is', () => {
    const ids = operations().map(({ op }) => op.operationId);
    assert.ok(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)), JSON.stringify(ids));
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    assert.ok(doc.servers.length > 0 && doc.servers[0]!.url);
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    const publicOps = operations().filter(({ op }) => Array.isArray(op.security) && op.security.length === 0).map(({ at }) => at).sort();
    assert.deepEqual(publicOps, [
      'GET /healthz',
      'GET /openapi.json',
      'GET /readyz',
      'POST /auth/login',
      'POST /auth/session',
      'POST /auth/signup',
      'POST /hooks/{hookId}',
      'POST /hooks/{hookId}/{secret}',
    ]);
  });

  it('gives every JSON answer a schema and an example, and every operation its failures', () => {
    for (const { at, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        const media = response.content?.['application/json'];
        if (status === '204' || (response.content as Record<string, unknown> | undefined)?.['text/event-stream']) continue; // no body, or GET /events' stream
        assert.ok(media, `${at} ${status} has a JSON body`);
        assert.notDeepEqual(media.schema, { type: 'object' }, `${at} ${status}: not a bare object`);
        assert.ok(media.examples && Object.keys(media.examples).length > 0, `${at} ${status} has examples`);
      }
      const statuses = Object.keys(op.responses);
      if (op.security === undefined) assert.ok(statuses.includes('401') && statuses.includes('503'), `${at}: 401 and 503`);
      if (at.startsWith('POST') || at.startsWith('PUT') || at.startsWith('PATCH')) {
        if (!at.includes('healthz')) assert.ok(['400', '413', '415'].every((s) => statuses.includes(s)), `${at}: 400, 413, 415`);
      }
    }
    const signup = doc.components.schemas.SignupResult as { required: string[] };
    assert.deepEqual([...signup.required].sort(), ['email', 'expiresIn', 'token', 'userId']);
    const accepted = doc.components.schemas.TriggerAccepted as { required: string[] };
    assert.deepEqual([...accepted.required].sort(), ['executionId', 'status']);
  });

  it('the contract check used by every API suite fails on an answer the document does not describe', async () => {
    const contract = await openApiContract();
    const headers = new Headers({ 'x-request-id': 'r' });
    const workflow = (await api.call('GET', '/openapi.json')).body.paths['/workflows/{workflowId}'].get.responses['200'].content['application/json'].examples.example.value;
    contract.check('GET', '/workflows/say-hello', { status: 200, headers, body: workflow, text: JSON.stringify(workflow) });
    const wrong = { ...workflow, version: 'one' };
    assert.throws(() => contract.check('GET', '/workflows/say-hello', { status: 200, headers, body: wrong, text: JSON.stringify(wrong) }), /body does not match/);
    assert.throws(() => contract.check('GET', '/workflows/say-hello', { status: 418, headers, body: {}, text: '{}' }), /status not documented/);
    const limited = { error: { code: 'rate_limited', message: 'too many requests' } };
    assert.throws(() => contract.check('POST', '/auth/login', { status: 429, headers, body: limited, text: JSON.stringify(limited) }), /Retry-After missing/);
    const notAnErrorCode = { error: { code: 'teapot', message: 'x' } };
    assert.throws(() => contract.check('GET', '/workflows', { status: 401, headers, body: notAnErrorCode, text: '' }), /body does not match/);
  });

  it('a client walking signup, create, trigger and read gets answers the document describes', async () => {
    // Every call below goes through the contract check in `startApi`; this walks the statuses a client meets most.
    const signup = await api.call('POST', '/auth/signup', { body: { email: ' Walker@Example.com ', password: 'correct horse battery' } });
    assert.equal(signup.status, 201);
    const token = signup.body.token as string;
    assert.equal((await api.call('POST', '/auth/signup', { body: { email: 'walker@example.com', password: 'correct horse battery' } })).status, 409);
    assert.equal((await api.call('POST', '/auth/login', { body: { email: 'walker@example.com', password: 'wrong password' } })).status, 401);
    assert.equal((await api.call('POST', '/workflows', { token, body: { workflowId: 'walk', trigger: { type: 'webhook' }, actions: [{ type: 'log', message: 'x' }] } })).status, 201);
    assert.equal((await api.call('POST', '/workflows', { token, body: { workflowId: 'walk', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] } })).status, 409);
    const run = await api.call('POST', '/workflows/walk/trigger', { token, body: { name: 'Ada' }, headers: { 'idempotency-key': 'walk-1' } });
    assert.equal(run.status, 202);
    assert.equal((await api.call('POST', '/workflows/walk/trigger', { token, headers: { 'idempotency-key': 'walk-1' } })).headers.get('idempotent-replayed'), 'true');
    assert.equal((await api.call('POST', '/workflows/walk/trigger', { token })).status, 409);
    assert.equal((await api.call('GET', `/executions/${run.body.executionId}`, { token })).status, 200);
    assert.equal((await api.call('GET', '/workflows/walk/executions?limit=1', { token })).status, 200);
    assert.equal((await api.call('PATCH', '/workflows/walk', { token, headers: { 'if-match': '"9"' }, body: { enabled: false } })).status, 409);
    assert.equal((await api.call('POST', '/workflows/walk/hook/rotate', { token })).status, 200);
    assert.equal((await api.call('GET', '/workflows?limit=x', { token })).status, 400);
    assert.equal((await api.call('POST', '/workflows', { token, raw: '{', headers: { 'content-type': 'application/json' } })).status, 400);
    assert.equal((await api.call('POST', '/workflows', { token, raw: 'a=b', headers: { 'content-type': 'text/plain' } })).status, 415);
    assert.equal((await api.call('DELETE', '/workflows/walk', { token })).status, 204);
    assert.equal((await api.call('GET', '/workflows/walk', { token })).status, 404);
    assert.equal((await api.call('GET', '/nowhere', { token })).status, 404);
  });

  it("agrees with the README's API table: the same routes, and the answers it names", () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## API'), readme.indexOf('## How it works'));
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    const listed = new Set<string>();
    for (const row of rows) {
      let methods: string[] = [];
      for (const [, span] of row.split('|')[1]!.matchAll(/`([^`]+)`/g)) {
        const [method, path] = span!.split(' ');
        if (!METHODS.includes(method!.toLowerCase())) continue; // a header or a body in the same cell
        methods.push(method!);
        if (!path) continue;
        for (const m of methods) listed.add(`${m} ${path.split('?')[0]!.replace(/:(\w+)/g, '{$1}')}`);
        methods = [];
      }
    }
    listed.delete('GET /metrics'); // served beside the app (service.ts), Prometheus text: not part of the JSON API
    const documented = new Set(operations().map(({ at }) => at));
    assert.deepEqual([...listed].sort(), [...documented].sort());
    const row = (route: string) => rows.find((r) => r.startsWith(`| \`${route}`)) ?? '';
    assert.match(row('POST /auth/signup'), /201 `\{userId,email,token,expiresIn\}`/);
    assert.match(row('POST /workflows/:workflowId/trigger'), /202 `\{executionId,status\}`/);
    assert.match(row('POST /hooks/:hookId'), /202 `\{executionId,status\}`/);
  });
});
