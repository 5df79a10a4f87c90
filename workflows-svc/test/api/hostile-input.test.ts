import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApi, type TestApi } from '../support/api.js';

/** A small deterministic PRNG (mulberry32), so a failure reproduces from its seed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', '$where', '$gt', '$ne', '$regex', '$function', 'a.b', ''];
const HOSTILE_STRINGS = ['', ' ', '{{trigger.__proto__}}', '$where', "'; DROP TABLE workflows; --", '../../etc/passwd', '\u0000', '\ud800', 'x'.repeat(70_000), '<script>', 'javascript:alert(1)', 'file:///etc/passwd', 'http://169.254.169.254/'];

function hostileValue(rand: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  switch (Math.floor(rand() * 10)) {
    case 0: return pick(HOSTILE_STRINGS);
    case 1: return pick([0, -1, 1e308, -1e308, 1.5, Number.MAX_SAFE_INTEGER + 2]);
    case 2: return pick([true, false, null]);
    case 3: return depth > 3 ? [] : Array.from({ length: Math.floor(rand() * 4) }, () => hostileValue(rand, depth + 1));
    case 4: {
      // Deep nesting, beyond what any schema allows.
      let v: unknown = 'deep';
      for (let i = 0; i < 40 + Math.floor(rand() * 100); i++) v = { a: v };
      return v;
    }
    case 5: return { [pick(HOSTILE_KEYS)]: hostileValue(rand, depth + 1) };
    default:
      return depth > 3 ? 'x' : Object.fromEntries(Array.from({ length: 1 + Math.floor(rand() * 4) }, () => [pick([...HOSTILE_KEYS, 'workflowId', 'trigger', 'actions', 'type', 'interval', 'url', 'email', 'password']), hostileValue(rand, depth + 1)]));
  }
}

/** Mutations of a valid workflow: one field wrong, missing, or hostile at a time. */
function mutatedWorkflow(rand: () => number): unknown {
  const valid: Record<string, unknown> = {
    workflowId: 'target', // exists already: even a mutation that stays valid changes nothing (409)
    trigger: { type: 'periodic', interval: '10s' },
    actions: [{ type: 'http-request', url: 'https://example.com', method: 'GET' }],
  };
  const paths = [['workflowId'], ['trigger'], ['trigger', 'type'], ['trigger', 'interval'], ['actions'], ['actions', 0], ['actions', 0, 'url'], ['actions', 0, 'method'], ['actions', 0, 'headers'], ['retryPolicy']];
  const path = paths[Math.floor(rand() * paths.length)]!;
  const copy = structuredClone(valid) as Record<string | number, unknown>;
  let target = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (rand() < 0.2) delete target[last];
  else target[last] = hostileValue(rand);
  if (rand() < 0.2) copy[HOSTILE_KEYS[Math.floor(rand() * HOSTILE_KEYS.length)]!] = 1;
  return copy;
}

/** Percent-encodes a value; one that cannot be encoded (a lone surrogate) becomes a malformed escape. */
function encode(v: unknown): string {
  try {
    return encodeURIComponent(String(v));
  } catch {
    return '%E0%A4%A';
  }
}

describe('hostile and malformed input', () => {
  let api: TestApi;
  let token: string;
  let snapshot: () => Promise<string>;
  before(async () => {
    api = await startApi();
    token = (await api.user()).token;
    const created = await api.call('POST', '/workflows', { token, body: { workflowId: 'target', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] } });
    assert.equal(created.status, 201);
    const { store, clock } = api;
    snapshot = async () => {
      const owner = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub as string;
      const workflows = await store.workflows.list(owner, { limit: 100 });
      return JSON.stringify({
        workflows: workflows.items.map((w) => [w.workflowId, w.version, w.trigger.status]),
        executions: await store.executions.countByStatus(),
        outbox: (await store.outbox.backlog(clock.now())).count,
      });
    };
  });
  after(() => api.close());

  const routes: [string, string, boolean][] = [
    ['POST', '/auth/signup', false],
    ['POST', '/auth/login', false],
    ['POST', '/workflows', true],
    ['PUT', '/workflows/ghost', true], // missing: a body that happens to be valid still changes nothing (404)
    ['PATCH', '/workflows/ghost', true],
    ['POST', '/workflows/target/trigger', true],
    ['GET', '/workflows', true],
    ['POST', '/hooks/abc', false],
  ];

  it('answers 2,000 generated hostile requests with a JSON 4xx that names the problem, never a 5xx, and changes nothing', async () => {
    const rand = prng(20261123);
    const before = await snapshot();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 2_000; i++) {
      const [method, path, auth] = routes[i % routes.length]!;
      const kind = rand();
      let raw: string | undefined;
      let contentType = 'application/json';
      let query = '';
      if (method === 'GET') query = `?limit=${encode(hostileValue(rand))}&cursor=${encode(hostileValue(rand))}`;
      else if (kind < 0.15) raw = ['{', '{"a":', '[1,2', 'nul', '{"a":1}}', '\u0000', '"just a string"', '12', '[]'][i % 9];
      else if (kind < 0.25) {
        contentType = ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data'][i % 4]!;
        raw = 'workflowId=x&trigger=manual';
      } else raw = JSON.stringify(path === '/workflows' || method === 'PUT' ? mutatedWorkflow(rand) : hostileValue(rand));
      // The trigger accepts any JSON object as its payload: send it non-objects only, so every request is invalid.
      if (path.endsWith('/trigger') && raw !== undefined && raw.startsWith('{') && contentType === 'application/json') raw = '[1]';
      const res = await api.call(method, path + query, {
        ...(auth ? { token } : {}),
        ...(raw === undefined ? {} : { raw, headers: { 'content-type': contentType } }),
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const where = `#${i} ${method} ${path}${query.slice(0, 80)} ${String(raw).slice(0, 120)}`;
      assert.ok(res.status < 500, `5xx for ${where}: ${res.text.slice(0, 200)}`);
      if (method !== 'GET') {
        assert.ok(res.status >= 400 && res.status < 500, `accepted a hostile request: ${where} → ${res.status} ${res.text.slice(0, 200)}`);
        assert.equal(typeof res.body?.error?.code, 'string', `not a JSON error: ${where}`);
        assert.ok(res.body.error.message.length > 0);
        assert.doesNotMatch(res.text, /at \w+ \(|node:internal|\.ts:\d+/, 'no stack trace leaks');
      }
    }
    assert.equal(await snapshot(), before, 'no stored change');
    assert.ok((statuses.get(400) ?? 0) > 500, `most are validation errors: ${JSON.stringify([...statuses])}`);
  });

  it('names the offending field in validation errors', async () => {
    const res = await api.call('POST', '/workflows', { token, body: { workflowId: 'x', trigger: { type: 'periodic', interval: { $gt: '' } }, actions: [{ type: 'log', message: 'x' }] } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ['trigger.interval']);
    const proto = await api.call('POST', '/workflows', { token, raw: '{"__proto__":{"polluted":true},"workflowId":"x"}', headers: { 'content-type': 'application/json' } });
    assert.equal(proto.status, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  });
});
