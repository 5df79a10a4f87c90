import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualWorkflow, startApiForSuite, type TestApi } from '../support/api.js';

/** The `name=value` part of the session cookie a response set. */
const sessionCookieOf = (headers: Headers) => {
  const set = headers.getSetCookie().find((c) => c.startsWith('wf_session='));
  assert.ok(set, 'a session cookie is set');
  return { pair: set.split(';')[0]!, attributes: set };
};

describe('dashboard sessions (HttpOnly cookie beside the bearer API)', () => {
  let api: TestApi;
  let email: string;
  startApiForSuite((suite) => ({ api, email } = suite));

  const logIn = async () => {
    const res = await api.call('POST', '/auth/session', { body: { email, password: 'correct horse battery' } });
    assert.equal(res.status, 200, res.text);
    return { res, cookie: sessionCookieOf(res.headers) };
  };
  const withCookie = (pair: string, extra: Record<string, string> = {}) => ({ headers: { cookie: pair, ...extra } });

  test('login sets an HttpOnly SameSite=Strict cookie and never puts the token in the body', async () => {
    const { res, cookie } = await logIn();
    assert.match(cookie.attributes, /HttpOnly/);
    assert.match(cookie.attributes, /SameSite=Strict/);
    assert.match(cookie.attributes, /Path=\//);
    assert.equal(res.body.email, email);
    assert.equal(typeof res.body.expiresIn, 'number');
    assert.equal('token' in res.body, false);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.text.includes(cookie.pair.slice('wf_session='.length)), false);
    const hint = res.headers.getSetCookie().find((c) => c.startsWith('wf_signed_in='));
    assert.ok(hint && !/HttpOnly/i.test(hint) && hint.startsWith('wf_signed_in=1;'), 'a hint the page can read, holding nothing secret');
  });

  test('a wrong password is the same 401 as on /auth/login, and sets no cookie', async () => {
    const res = await api.call('POST', '/auth/session', { body: { email, password: 'wrong password!' } });
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers.getSetCookie(), []);
  });

  test('the cookie authenticates reads; writes also need the CSRF header', async () => {
    const { cookie } = await logIn();
    const who = await api.call('GET', '/auth/session', withCookie(cookie.pair));
    assert.equal(who.status, 200);
    assert.equal(who.body.email, email);

    const refused = await api.call('POST', '/workflows', { body: manualWorkflow('csrf-refused'), ...withCookie(cookie.pair) });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'csrf_header_missing');
    const notThere = await api.call('GET', '/workflows/csrf-refused', withCookie(cookie.pair));
    assert.equal(notThere.status, 404, 'nothing was written');

    const created = await api.call('POST', '/workflows', { body: manualWorkflow('csrf-ok'), ...withCookie(cookie.pair, { 'x-wf-csrf': '1' }) });
    assert.equal(created.status, 201, created.text);
  });

  test('logout revokes the session server-side: a kept copy of the cookie is refused, on every session of the user', async () => {
    const one = await logIn();
    const two = await logIn();
    const noCsrf = await api.call('DELETE', '/auth/session', withCookie(one.cookie.pair));
    assert.equal(noCsrf.status, 403, 'a cross-site page cannot log the user out either');

    const out = await api.call('DELETE', '/auth/session', withCookie(one.cookie.pair, { 'x-wf-csrf': '1' }));
    assert.equal(out.status, 204);
    assert.match(sessionCookieOf(out.headers).attributes, /Expires=Thu, 01 Jan 1970/, 'the browser is told to drop it');
    for (const { cookie } of [one, two]) {
      const after = await api.call('GET', '/workflows', withCookie(cookie.pair));
      assert.equal(after.status, 401);
    }
    const again = await logIn();
    assert.equal((await api.call('GET', '/workflows', withCookie(again.cookie.pair))).status, 200, 'a new login works');
  });

  test('a session token is not a bearer token, and a bearer token is not a session', async () => {
    const { cookie } = await logIn();
    const sessionToken = cookie.pair.slice('wf_session='.length);
    assert.equal((await api.call('GET', '/workflows', { token: sessionToken })).status, 401);
    const { token } = await api.user();
    assert.equal((await api.call('GET', '/workflows', withCookie(`wf_session=${token}`))).status, 401);
  });

  test('an expired session is a 401', async () => {
    const { cookie } = await logIn();
    api.clock.advance((api.config.jwt.expiresInSeconds + 1) * 1000);
    assert.equal((await api.call('GET', '/auth/session', withCookie(cookie.pair))).status, 401);
  });
});
