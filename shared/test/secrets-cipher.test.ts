import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newSecretsKey, parseSecretsKey, SecretsCipher, secretsReferenced } from '../src/index.js';

describe('SecretsCipher (AES-256-GCM)', () => {
  const key = newSecretsKey();

  it('seals to text that holds neither the value nor the name, and opens it again', () => {
    const cipher = new SecretsCipher(key);
    const sealed = cipher.seal('u1', 'stripe', 'sk_live_123456');
    assert.match(sealed, /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes('sk_live'));
    assert.notEqual(cipher.seal('u1', 'stripe', 'sk_live_123456'), sealed, 'a fresh IV each time');
    assert.equal(cipher.open('u1', 'stripe', sealed), 'sk_live_123456');
  });

  it('refuses a ciphertext moved to another owner or name, or tampered with', () => {
    const cipher = new SecretsCipher(key);
    const sealed = cipher.seal('u1', 'stripe', 'value-1');
    assert.throws(() => cipher.open('u2', 'stripe', sealed));
    assert.throws(() => cipher.open('u1', 'other', sealed));
    const body = sealed.split('.')[2]!;
    const flipped = `${body.slice(0, -2)}${body.at(-2) === 'A' ? 'B' : 'A'}${body.at(-1)}`;
    assert.throws(() => cipher.open('u1', 'stripe', sealed.replace(body, flipped)));
  });

  it('after a rotation, opens with a previous key what it sealed, and seals with the new one', () => {
    const old = new SecretsCipher(key);
    const sealed = old.seal('u1', 'a', 'value-1');
    const next = newSecretsKey();
    const rotated = new SecretsCipher(next, [key]);
    assert.equal(rotated.open('u1', 'a', sealed), 'value-1');
    assert.equal(rotated.isStale(sealed), true);
    assert.equal(rotated.isStale(rotated.seal('u1', 'a', 'value-1')), false);
    assert.throws(() => new SecretsCipher(next).open('u1', 'a', sealed), /neither SECRETS_KEY nor one of SECRETS_KEY_PREVIOUS/);
  });

  it('takes a key as 64 hex digits or base64 of 32 bytes, nothing else', () => {
    assert.equal(parseSecretsKey('ab'.repeat(32)).length, 32);
    assert.equal(parseSecretsKey(Buffer.alloc(32, 1).toString('base64')).length, 32);
    assert.throws(() => parseSecretsKey('too short'), /32 bytes/);
  });
});

describe('secretsReferenced', () => {
  it('finds every {{secrets.NAME}} in an action, once each', () => {
    assert.deepEqual(
      secretsReferenced({ type: 'http-request', url: 'https://x/{{ secrets.path }}', headers: { Authorization: 'Bearer {{secrets.token}}' }, body: { a: ['{{secrets.token}}', '{{trigger.payload.x}}'] } }),
      ['path', 'token'],
    );
  });
});
