import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { createMemoryStore } from '@wf/shared/memory';
import jwt from 'jsonwebtoken';
import { startForSuite } from '@wf/shared/testing';
import { KNOWN_USER_TTL_MS } from '../../src/app/authenticate-user.js';
import { TEST_JWT_SECRET, startApi, startApiForSuite, type TestApi } from '../support/api.js';

const PASSWORD = 'correct horse battery';

describe('auth', () => {
  let api: TestApi;
  startForSuite(() => startApi(), (started) => (api = started));

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
  startApiForSuite((suite) => ({ api, userId } = suite));

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

  test('a valid token of a user that does not exist (any more) is 401', async () => {
    const token = sign({ sub: '00000000-0000-4000-8000-000000000000', exp: nowSeconds() + 600 });
    const res = await api.call('GET', '/workflows', { token });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'unauthorized');
  });

  test('the user check is cheap: one store read per user per half minute', async () => {
    const store = createMemoryStore();
    const findById = mock.method(store.users, 'findById');
    const cached = await startApi({ store });
    try {
      const { token } = await cached.user();
      for (let i = 0; i < 3; i++) assert.equal((await cached.call('GET', '/workflows', { token })).status, 200);
      assert.equal(findById.mock.callCount(), 1);
      cached.clock.advance(KNOWN_USER_TTL_MS + 1);
      assert.equal((await cached.call('GET', '/workflows', { token })).status, 200);
      assert.equal(findById.mock.callCount(), 2);
    } finally {
      await cached.close();
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
  /** Behind one proxy hop (TRUST_PROXY=1), the client address is the one the proxy reports. */
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const login = (api: TestApi, email: string, password: string, address?: string) =>
    api.call('POST', '/auth/login', { body: { email, password }, ...(address ? { headers: from(address) } : {}) });

  test('per email and address: failures beyond the limit get 429 with Retry-After, even with the right password, from that address', async () => {
    const api = await startApi({ env: { LOGIN_RATE_LIMIT_PER_EMAIL: '2', LOGIN_RATE_WINDOW: '1m' } });
    try {
      const { email } = await api.user('limited@example.com');
      assert.equal((await login(api, email, 'wrong-1')).status, 401);
      assert.equal((await login(api, email, 'wrong-2')).status, 401);
      const limited = await login(api, email, PASSWORD);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error.code, 'rate_limited');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal((await login(api, ' LIMITED@example.com ', 'x')).status, 429, 'the email is normalized (case, spaces) before counting');
      assert.equal((await login(api, 'other@example.com', 'wrong')).status, 401, 'another email is not affected');
      assert.equal(api.logs.some((l) => l.includes('rate limiter')), false, 'the limiters have no configuration complaints');
    } finally {
      await api.close();
    }
  });

  test('an attacker failing 20 times from one address cannot lock the owner out from another: the owner logs in', async () => {
    const api = await startApi({ env: { TRUST_PROXY: '1', LOGIN_SLOWDOWN_MAX_DELAY_MS: '300' } });
    try {
      const { email } = await api.user('owner@example.com');
      const attacker = [];
      for (let i = 0; i < 20; i++) attacker.push((await login(api, email, `guess-${i}`, '203.0.113.7')).status);
      assert.deepEqual(attacker, [...Array(10).fill(401), ...Array(10).fill(429)], 'the attacker is refused after 10 failures');
      const owner = await login(api, 'Owner@Example.com', PASSWORD, '198.51.100.20');
      assert.equal(owner.status, 200, owner.text);
      assert.equal(api.logs.some((l) => l.includes('rate limiter')), false, 'the limiters have no configuration complaints');
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

  test('per address: failed attempts across many emails hit the limit; without TRUST_PROXY, X-Forwarded-For does not change the address', async () => {
    const api = await startApi({ env: { LOGIN_RATE_LIMIT_PER_IP: '3', LOGIN_RATE_LIMIT_PER_EMAIL: '100' } });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await login(api, `spray${i}@example.com`, 'guess', `203.0.113.${i}`)).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);
    } finally {
      await api.close();
    }
  });
});

describe('signup rate limits', () => {
  const signup = (api: TestApi, email: string, address?: string) =>
    api.call('POST', '/auth/signup', { body: { email, password: PASSWORD }, ...(address ? { headers: { 'x-forwarded-for': address } } : {}) });

  test('per address: attempts beyond the limit get 429 with Retry-After, whatever they answer', async () => {
    const api = await startApi({ env: { SIGNUP_RATE_LIMIT_PER_IP: '3' } });
    try {
      const statuses = [(await signup(api, 'one@example.com')).status, (await signup(api, 'one@example.com')).status, (await signup(api, 'bad')).status];
      assert.deepEqual(statuses, [201, 409, 400]);
      const limited = await signup(api, 'two@example.com');
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    } finally {
      await api.close();
    }
  });

  test('per email, from any address and however it is written', async () => {
    const api = await startApi({ env: { TRUST_PROXY: '1', SIGNUP_RATE_LIMIT_PER_EMAIL: '2' } });
    try {
      assert.equal((await signup(api, 'probe@example.com', '203.0.113.1')).status, 201);
      assert.equal((await signup(api, ' PROBE@example.com', '203.0.113.2')).status, 409);
      assert.equal((await signup(api, 'Probe@Example.com ', '203.0.113.3')).status, 429);
      assert.equal((await signup(api, 'another@example.com', '203.0.113.3')).status, 201, 'another email is not affected');
    } finally {
      await api.close();
    }
  });
});
