import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore, DEFAULT_TOPICS, loadConfig, silentLogger } from '@wf/shared';
import { FakeClock } from '@wf/shared/testing';
import { createWorkflowsApp, WorkflowsEnvSchema, workflowsConfig } from '../../src/index.js';
import { startApi, TEST_JWT_SECRET, type TestApi } from '../support/api.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD /path` the express app really routes, in OpenAPI's `{param}` form. */
function realRoutes(): Set<string> {
  const app = createWorkflowsApp({
    store: createMemoryStore(),
    clock: new FakeClock(),
    logger: silentLogger,
    topics: DEFAULT_TOPICS,
    config: workflowsConfig(loadConfig(WorkflowsEnvSchema, { JWT_SECRET: TEST_JWT_SECRET })),
  }) as unknown as { router: { stack: Layer[] } };
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

describe('OpenAPI document', () => {
  let api: TestApi;
  let doc: { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
  before(async () => {
    api = await startApi();
    const res = await api.call('GET', '/openapi.json');
    assert.equal(res.status, 200);
    doc = res.body;
  });
  after(() => api.close());

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
});
