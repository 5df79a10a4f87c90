import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { TEST_JWT_SECRET, startApi, type TestApi } from '../support/api.js';

const PASSWORD = 'correct horse battery';

describe('auth', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });
  after(() => api.close());

  test('signup: 201 with userId, email (normalized) and a token that opens the API', async () => {
    const res = await api.call('POST', '/auth/signup', { body: { email: 'Ada@Example.com', password: PASSWORD } });
    assert.equal(res.status, 201);
    assert.equal(res.body.email, 'ada@example.com');
    assert.match(res.body.userId, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const list = await api.call('GET', '/workflows', { token: res.body.token });
    assert.equal(list.status, 200);
    assert.equal(jwt.decode(res.body.token, { json: true })?.sub, res.body.userId);
  });

  test('signup: a taken email is 409, whatever its case', async () => {
    await api.user('taken@example.com');
    const res = await api.call('POST', '/auth/signup', { body: { email: 'TAKEN@example.com', password: PASSWORD } });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'email_taken');
  });

  test('signup: 400 naming each bad field, unknown fields included', async () => {
    const res = await api.call('POST', '/auth/signup', { body: { email: 'not-an-email', password: 'short', admin: true } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'validation_failed');
    const paths = (res.body.error.details as Array<{ path: string }>).map((d) => d.path).sort();
    assert.deepEqual(paths, ['admin', 'email', 'password']);
  });

  test('login: 200 with a token and its lifetime in seconds', async () => {
    await api.user('login@example.com');
    const res = await api.call('POST', '/auth/login', { body: { email: 'LOGIN@example.com', password: PASSWORD } });
    assert.equal(res.status, 200);
    assert.equal(res.body.expiresIn, 3600);
    assert.equal((await api.call('GET', '/workflows', { token: res.body.token })).status, 200);
  });

  test('login: wrong password and unknown email get byte-identical 401s', async () => {
    await api.user('victim@example.com');
    const wrong = await api.call('POST', '/auth/login', { body: { email: 'victim@example.com', password: 'not the password' } });
    const unknown = await api.call('POST', '/auth/login', { body: { email: 'ghost@example.com', password: 'not the password' } });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.text, unknown.text);
    assert.equal(wrong.body.error.code, 'unauthorized');
  });

  test('login: unknown-email timing is of the same order as a wrong password (a KDF run each)', async () => {
    await api.user('timing@example.com');
    const time = async (email: string) => {
      const started = performance.now();
      await api.call('POST', '/auth/login', { body: { email, password: 'wrong password' } });
      return performance.now() - started;
    };
    await time('nobody-warmup@example.com'); // the dummy hash is made on first need
    const known = [await time('timing@example.com'), await time('timing@example.com')].sort((a, b) => a - b)[0] ?? 0;
    const unknown = [await time('nobody@example.com'), await time('nobody@example.com')].sort((a, b) => a - b)[0] ?? 0;
    // Without the dummy verify an unknown email answers in ~1 ms against tens for a KDF run.
    assert.ok(unknown > known / 3, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`);
  });
});

describe('bearer tokens', () => {
  let api: TestApi;
  let userId: string;
  before(async () => {
    api = await startApi();
    userId = (await api.user()).userId;
  });
  after(() => api.close());

  const nowSeconds = () => Math.floor(api.clock.now().getTime() / 1000);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sign = (payload: object, options: jwt.SignOptions = {}, secret = TEST_JWT_SECRET) =>
    jwt.sign(payload, secret, { algorithm: 'HS256', ...options });

  test('every route but auth, hooks and probes needs one', async () => {
    for (const [method, path] of [
      ['GET', '/workflows'],
      ['POST', '/workflows'],
      ['GET', '/workflows/a'],
      ['PUT', '/workflows/a'],
      ['PATCH', '/workflows/a'],
      ['DELETE', '/workflows/a'],
      ['POST', '/workflows/a/trigger'],
      ['POST', '/workflows/a/hook/rotate'],
      ['GET', '/workflows/a/executions'],
      ['GET', '/executions/e'],
    ] as const) {
      const res = await api.call(method, path);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
  });

  test('a valid token gets in (the control for the cases below)', async () => {
    const token = sign({ sub: userId, exp: nowSeconds() + 60 });
    assert.equal((await api.call('GET', '/workflows', { token })).status, 200);
  });

  test('forged, expired, malformed: all 401', async () => {
    const exp = nowSeconds() + 600;
    const cases: Record<string, Record<string, string>> = {
      'no header': {},
      'Basic scheme': { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      'Bearer with nothing': { authorization: 'Bearer ' },
      garbage: { authorization: 'Bearer garbage' },
      'alg none': { authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: userId, exp })}.` },
      'wrong signature': { authorization: `Bearer ${sign({ sub: userId, exp }, {}, 'some-other-secret-of-at-least-32-bytes')}` },
      HS512: { authorization: `Bearer ${sign({ sub: userId, exp }, { algorithm: 'HS512' })}` },
      expired: { authorization: `Bearer ${sign({ sub: userId, exp: nowSeconds() - 1 })}` },
      'not yet valid': { authorization: `Bearer ${sign({ sub: userId, exp, nbf: nowSeconds() + 120 })}` },
      'missing sub': { authorization: `Bearer ${sign({ exp })}` },
      'missing exp': { authorization: `Bearer ${sign({ sub: userId }, { noTimestamp: true })}` },
      'huge header': { authorization: `Bearer ${'a'.repeat(10_000)}.b.c` },
    };
    for (const [name, headers] of Object.entries(cases)) {
      const res = await api.call('GET', '/workflows', { headers });
      assert.equal(res.status, 401, name);
      assert.equal(res.body.error.code, 'unauthorized', name);
    }
  });

  test('a token stops working when it expires', async () => {
    const login = await api.call('POST', '/auth/login', { body: { email: (await api.user('expiry@example.com')).email, password: PASSWORD } });
    assert.equal((await api.call('GET', '/workflows', { token: login.body.token })).status, 200);
    api.clock.advance(3601_000);
    assert.equal((await api.call('GET', '/workflows', { token: login.body.token })).status, 401);
  });
});

describe('login rate limits', () => {
  test('per email: failed attempts beyond the limit get 429 with Retry-After, even with the right password', async () => {
    const api = await startApi({ env: { LOGIN_RATE_LIMIT_PER_EMAIL: '2', LOGIN_RATE_WINDOW: '1m' } });
    try {
      const { email } = await api.user('limited@example.com');
      const attempt = (password: string, address = email) => api.call('POST', '/auth/login', { body: { email: address, password } });
      assert.equal((await attempt('wrong-1')).status, 401);
      assert.equal((await attempt('wrong-2')).status, 401);
      const limited = await attempt(PASSWORD);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'rate_limited');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal((await attempt('x', 'LIMITED@example.com')).status, 429, 'the email is normalized before counting');
      assert.equal((await attempt('wrong', 'other@example.com')).status, 401, 'another email is not affected');
      assert.equal(api.logs.some((l) => l.includes('rate limiter')), false, 'the limiter has no configuration complaints');
    } finally {
      await api.close();
    }
  });

  test('per email: successful logins do not count', async () => {
    const api = await startApi({ env: { LOGIN_RATE_LIMIT_PER_EMAIL: '2' } });
    try {
      const { email } = await api.user();
      for (let i = 0; i < 4; i++) assert.equal((await api.call('POST', '/auth/login', { body: { email, password: PASSWORD } })).status, 200);
    } finally {
      await api.close();
    }
  });

  test('per address: failed attempts across many emails hit the limit', async () => {
    const api = await startApi({ env: { LOGIN_RATE_LIMIT_PER_IP: '3', LOGIN_RATE_LIMIT_PER_EMAIL: '100' } });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await api.call('POST', '/auth/login', { body: { email: `spray${i}@example.com`, password: 'guess' } })).status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429]);
    } finally {
      await api.close();
    }
  });
});
