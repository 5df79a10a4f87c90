import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApi, type TestApi } from '../support/api.js';
import { apiTestStores } from '../support/stores.js';

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

const valid = {
  workflowId: 'fresh',
  trigger: { type: 'manual' },
  actions: [{ type: 'log', message: 'x' }],
};
const with_ = (change: Record<string, unknown>) => ({ ...valid, ...change });
const paths = (body: { error?: { details?: Array<{ path: string }> } }) => (body.error?.details ?? []).map((d) => d.path);

for (const testStore of apiTestStores()) describe(`hostile and malformed input (${testStore.name} store)`, { skip: testStore.skip }, () => {
  let api: TestApi;
  let token: string;
  let hook: { hookId: string; secret: string };
  let snapshot: () => Promise<string>;
  before(async () => {
    api = await startApi({ store: await testStore.open() });
    token = (await api.user()).token;
    const created = await api.call('POST', '/workflows', { token, body: { workflowId: 'target', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'x' }] } });
    assert.equal(created.status, 201);
    const hooked = await api.call('POST', '/workflows', { token, body: { workflowId: 'hooked', trigger: { type: 'webhook' }, actions: [{ type: 'log', message: 'x' }] } });
    assert.equal(hooked.status, 201);
    hook = { hookId: hooked.body.hook.hookId, secret: hooked.body.hook.secret };
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
  after(async () => {
    await api.close();
    await testStore.dispose();
  });

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

  /** Sends `body` as raw JSON text, so escapes such as a lone `\ud800` reach the server as written. */
  const send = (method: string, path: string, json: string, auth = true) =>
    api.call(method, path, { raw: json, headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) } });

  it('answers a refinement whose library throws (`ms` on "") with a 400 naming the field, on POST, PUT and PATCH', async () => {
    const before = await snapshot();
    const bad = { type: 'periodic', interval: '' };
    for (const [method, path, body] of [
      ['POST', '/workflows', with_({ trigger: bad })],
      ['PUT', '/workflows/target', with_({ workflowId: 'target', trigger: bad })],
      ['PATCH', '/workflows/target', { trigger: bad }],
    ] as const) {
      const res = await api.call(method, path, { token, body });
      assert.equal(res.status, 400, `${method} ${res.text}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.deepEqual(paths(res.body), ['trigger.interval'], method);
    }
    assert.equal(await snapshot(), before);
  });

  it('refuses NUL and unpaired surrogates anywhere in a body with a 400 naming the field, and stores nothing', async () => {
    const before = await snapshot();
    const cases: Array<[string, string, string, string, boolean?]> = [
      ['POST', '/workflows', JSON.stringify(with_({ name: 'a\u0000b' })), 'name'],
      ['POST', '/workflows', JSON.stringify(with_({ actions: [{ type: 'log', message: 'hi \u0000' }] })), 'actions.0.message'],
      ['POST', '/workflows', JSON.stringify(with_({ actions: [{ type: 'http-request', url: 'https://example.com', method: 'POST', body: { deep: ['\u0000'] } }] })), 'actions.0.body.deep.0'],
      ['PUT', '/workflows/target', JSON.stringify(with_({ workflowId: 'target', name: '\u0000' })), 'name'],
      ['PATCH', '/workflows/target', JSON.stringify({ name: 'x\u0000' }), 'name'],
      ['POST', '/workflows/target/trigger', JSON.stringify({ customer: { name: 'a\u0000' } }), 'customer.name'],
      ['POST', `/hooks/${hook.hookId}/${hook.secret}`, JSON.stringify({ email: '\u0000@example.com' }), 'email', false],
      ['POST', '/auth/signup', JSON.stringify({ email: 'nul@example.com', password: 'correct horse\u0000' }), 'password', false],
      ['POST', '/workflows', '{"workflowId":"fresh","name":"a\\ud800b","trigger":{"type":"manual"},"actions":[{"type":"log","message":"x"}]}', 'name'],
      ['POST', '/workflows', '{"workflowId":"fresh","trigger":{"type":"manual"},"actions":[{"type":"log","message":"\\udc00 alone"}]}', 'actions.0.message'],
      ['POST', '/workflows/target/trigger', '{"x":"\\ud83d"}', 'x'],
      ['POST', '/workflows/target/trigger', '{"bad\\u0000key":1}', '(root)'],
    ];
    for (const [method, path, json, field, auth] of cases) {
      const res = await send(method, path, json, auth ?? true);
      assert.equal(res.status, 400, `${method} ${path} ${json}: ${res.text}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.deepEqual(paths(res.body), [field], json);
      assert.equal(res.body.error.details[0].code, 'invalid_character');
    }
    // A surrogate pair (an emoji) is a character like any other, and round-trips.
    const emoji = await send('POST', '/workflows', '{"workflowId":"emoji","name":"\\ud83d\\ude00","trigger":{"type":"manual"},"actions":[{"type":"log","message":"x"}]}');
    assert.equal(emoji.status, 201, emoji.text);
    assert.equal((await api.call('GET', '/workflows/emoji', { token })).body.name, '\u{1F600}');
    assert.equal((await api.call('DELETE', '/workflows/emoji', { token })).status, 204);
    assert.equal(await snapshot(), before, 'nothing stored');
  });

  it('refuses time zones that are not IANA names, bad cron expressions and header values with CR or LF, in its own words', async () => {
    const before = await snapshot();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ trigger: { type: 'cron', cron: '* * * * *', timezone: 'Local' } }, 'trigger.timezone'],
      [{ trigger: { type: 'cron', cron: '* * * * *', timezone: 'UTC+5' } }, 'trigger.timezone'],
      [{ trigger: { type: 'cron', cron: '99 * * * *' } }, 'trigger.cron'],
      [{ trigger: { type: 'cron', cron: '0 0 31 2 *' } }, 'trigger.cron'],
      [{ trigger: { type: 'cron', cron: '0 0 0 * * * 2030' } }, 'trigger.cron'],
      [{ trigger: { type: 'cron', cron: 'H * * * *' } }, 'trigger.cron'],
      [{ actions: [{ type: 'http-request', url: 'https://example.com', method: 'GET', headers: { 'x-api-key': 'k\r\nx-injected: 1' } }] }, 'actions.0.headers.x-api-key'],
      [{ actions: [{ type: 'http-request', url: 'https://example.com', method: 'GET', headers: { 'x-bad\nname': 'v' } }] }, 'actions.0.headers.x-bad\nname'],
    ];
    for (const [change, field] of cases) {
      const res = await api.call('POST', '/workflows', { token, body: with_(change) });
      assert.equal(res.status, 400, `${JSON.stringify(change)}: ${res.text}`);
      assert.deepEqual(paths(res.body), [field], JSON.stringify(change));
      assert.doesNotMatch(res.text, /CronDate|Constraint error|Validation error|Invalid explicit|luxon|unhandled timestamp/i, 'no library text');
    }
    assert.equal(await snapshot(), before);
    for (const [cron, timezone] of [['*/10 * * * * *', 'Etc/UTC'], ['30 9 * * 1-5', 'UTC'], ['@daily', 'Europe/Paris']]) {
      const res = await api.call('POST', '/workflows', { token, body: with_({ workflowId: 'cron-ok', trigger: { type: 'cron', cron, timezone } }) });
      assert.equal(res.status, 201, `${cron} ${timezone}: ${res.text}`);
      assert.equal((await api.call('DELETE', '/workflows/cron-ok', { token })).status, 204);
    }
  });
});
