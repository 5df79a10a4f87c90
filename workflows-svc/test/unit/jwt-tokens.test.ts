import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnauthorizedError } from '@wf/shared';
import { FakeClock } from '@wf/shared/testing';
import jwt from 'jsonwebtoken';
import { JwtAccessTokens, JwtSessionTokens, MAX_VERIFIED_TOKENS } from '../../src/auth/jwt-tokens.js';

const secret = 'unit-test-secret-with-at-least-32-bytes';
const start = '2026-02-01T10:00:00.000Z';
const nowSeconds = Date.parse(start) / 1000;

function setup() {
  const clock = new FakeClock(start);
  return { clock, tokens: new JwtAccessTokens({ secret, expiresInSeconds: 3600 }, clock) };
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('issues an HS256 token for the user that expires after the configured time', () => {
  const { tokens } = setup();
  const { token, expiresIn } = tokens.issue('user-1');
  const decoded = jwt.decode(token, { complete: true });
  assert.equal(decoded?.header.alg, 'HS256');
  assert.deepEqual(decoded?.payload, { sub: 'user-1', iat: nowSeconds, exp: nowSeconds + 3600 });
  assert.equal(expiresIn, 3600);
  assert.equal(tokens.verify(token), 'user-1');
});

test('an expired token is refused (by the injected clock)', () => {
  const { tokens, clock } = setup();
  const { token } = tokens.issue('user-1');
  clock.advance(3599_000);
  assert.equal(tokens.verify(token), 'user-1');
  clock.advance(2_000);
  assert.throws(() => tokens.verify(token), UnauthorizedError);
});

test('every forged or malformed token is the same UnauthorizedError', () => {
  const { tokens } = setup();
  const exp = nowSeconds + 600;
  const valid = tokens.issue('user-1').token;
  const [header, payload] = valid.split('.');
  const forged = {
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'user-1', exp })}.`,
    'wrong signature': jwt.sign({ sub: 'user-1', exp }, 'another-secret-that-is-32-bytes-long!!'),
    'another algorithm (HS512)': jwt.sign({ sub: 'user-1', exp }, secret, { algorithm: 'HS512' }),
    'tampered payload': `${header}.${b64({ sub: 'admin', iat: nowSeconds, exp })}.${valid.split('.')[2]}`,
    'no subject': jwt.sign({ exp }, secret, { algorithm: 'HS256' }),
    'empty subject': jwt.sign({ sub: '', exp }, secret, { algorithm: 'HS256' }),
    'no expiry': jwt.sign({ sub: 'user-1' }, secret, { algorithm: 'HS256', noTimestamp: true }),
    'not yet valid': jwt.sign({ sub: 'user-1', exp, nbf: nowSeconds + 60 }, secret, { algorithm: 'HS256' }),
    'string payload': jwt.sign('user-1', secret, { algorithm: 'HS256' }),
    garbage: 'not.a.jwt',
    'payload only': `${header}.${payload}`,
  };
  for (const [name, token] of Object.entries(forged)) {
    assert.throws(() => tokens.verify(token), (err) => err instanceof UnauthorizedError && err.message === 'invalid or expired token', name);
  }
});

test('a token is verified once and then remembered, but only until it expires', (t) => {
  const { tokens, clock } = setup();
  const verifications = t.mock.method(jwt, 'verify');
  const { token } = tokens.issue('user-1');
  assert.equal(tokens.verify(token), 'user-1');
  clock.advance(3599_000);
  assert.equal(tokens.verify(token), 'user-1');
  assert.equal(verifications.mock.callCount(), 1, 'the second use is answered from memory');
  clock.advance(1_000); // exp is reached: jwt.verify refuses a token at its exp second too
  assert.throws(() => tokens.verify(token), UnauthorizedError);
  assert.throws(() => tokens.verify(token), UnauthorizedError);
});

test('a remembered token does not open the door to a tampered copy of it', () => {
  const { tokens } = setup();
  const { token } = tokens.issue('user-1');
  assert.equal(tokens.verify(token), 'user-1');
  const [header, , signature] = token.split('.');
  const tampered = `${header}.${b64({ sub: 'admin', iat: nowSeconds, exp: nowSeconds + 3600 })}.${signature}`;
  assert.throws(() => tokens.verify(tampered), UnauthorizedError);
  assert.throws(() => tokens.verify(`${token}x`), UnauthorizedError);
});

test('a dashboard session token stays refused as a bearer token after it verified as a session', () => {
  const clock = new FakeClock(start);
  const options = { secret, expiresInSeconds: 3600 };
  const access = new JwtAccessTokens(options, clock);
  const sessions = new JwtSessionTokens(options, clock);
  const { token } = sessions.issue('user-1', 4);
  assert.deepEqual(sessions.verify(token), { userId: 'user-1', sessionVersion: 4 });
  assert.deepEqual(sessions.verify(token), { userId: 'user-1', sessionVersion: 4 });
  assert.throws(() => access.verify(token), UnauthorizedError);
});

test('past MAX_VERIFIED_TOKENS the oldest token is forgotten and verified again when it comes back', (t) => {
  const { tokens } = setup();
  const first = tokens.issue('user-0').token;
  tokens.verify(first);
  const others = Array.from({ length: MAX_VERIFIED_TOKENS }, (_, i) => tokens.issue(`user-${i + 1}`).token);
  for (const token of others) tokens.verify(token);
  const verifications = t.mock.method(jwt, 'verify');
  assert.equal(tokens.verify(others.at(-1)!), `user-${MAX_VERIFIED_TOKENS}`);
  assert.equal(verifications.mock.callCount(), 0, 'the newest is still remembered');
  assert.equal(tokens.verify(first), 'user-0');
  assert.equal(verifications.mock.callCount(), 1, 'the oldest was verified again');
});
