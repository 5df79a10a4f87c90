import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScryptPasswordHasher } from '../../src/auth/scrypt-hasher.js';

const hasher = new ScryptPasswordHasher();

test('hashes as scrypt$N$r$p$salt$hash with N=2^15, r=8, p=1, a 16-byte salt', async () => {
  const stored = await hasher.hash('correct horse');
  const [name, N, r, p, salt, hash] = stored.split('$');
  assert.deepEqual([name, N, r, p], ['scrypt', '32768', '8', '1']);
  assert.equal(Buffer.from(salt ?? '', 'base64').length, 16);
  assert.equal(Buffer.from(hash ?? '', 'base64').length, 32);
});

test('verifies the right password only', async () => {
  const stored = await hasher.hash('correct horse');
  assert.equal(await hasher.verify('correct horse', stored), true);
  assert.equal(await hasher.verify('correct horsE', stored), false);
  assert.equal(await hasher.verify('', stored), false);
});

test('salts every hash', async () => {
  assert.notEqual(await hasher.hash('same'), await hasher.hash('same'));
});

test('a malformed or abusive stored hash verifies as false without throwing', async () => {
  const stored = await hasher.hash('pw');
  const parts = stored.split('$');
  for (const bad of [
    '',
    'bcrypt$x',
    parts.slice(0, 5).join('$'),
    ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
    ['scrypt', String(2 ** 24), ...parts.slice(2)].join('$'), // N too costly
    ['scrypt', parts[1], parts[2], parts[3], '', parts[5]].join('$'), // no salt
  ]) {
    assert.equal(await hasher.verify('pw', bad), false, bad);
  }
});

test('reads the parameters from the stored hash, so older costs still verify', async () => {
  const cheap = new ScryptPasswordHasher({ N: 2 ** 14, r: 8, p: 1 });
  const stored = await cheap.hash('pw');
  assert.ok(stored.startsWith('scrypt$16384$8$1$'));
  assert.equal(await hasher.verify('pw', stored), true);
});
