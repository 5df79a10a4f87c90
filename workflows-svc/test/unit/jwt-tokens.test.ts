import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnauthorizedError } from '@wf/shared';
import { FakeClock } from '@wf/shared/testing';
import jwt from 'jsonwebtoken';
import { JwtAccessTokens } from '../../src/auth/jwt-tokens.js';

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
