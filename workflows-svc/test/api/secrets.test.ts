import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SecretsCipher } from '@wf/shared';
import { createMemoryStore } from '@wf/shared/memory';
import { startApi, TEST_SECRETS_KEY, type TestApi } from '../support/api.js';

describe('secrets', () => {
  const store = createMemoryStore();
  let api: TestApi;
  let ada: { token: string; userId: string };
  let bob: { token: string; userId: string };
  before(async () => {
    api = await startApi({ store });
    ada = await api.user();
    bob = await api.user();
  });
  after(() => api.close());

  test('PUT creates (201) then replaces (200); GET lists names and dates only; the store holds only ciphertext', async () => {
    const created = await api.call('PUT', '/secrets/stripe_key', { token: ada.token, body: { value: 'sk_live_one' } });
    assert.equal(created.status, 201);
    const now = api.clock.now().toISOString();
    assert.deepEqual(created.body, { name: 'stripe_key', createdAt: now, updatedAt: now });
    api.clock.advance(5_000);
    const replaced = await api.call('PUT', '/secrets/stripe_key', { token: ada.token, body: { value: 'sk_live_two' } });
    assert.equal(replaced.status, 200);
    assert.deepEqual(replaced.body, { name: 'stripe_key', createdAt: now, updatedAt: api.clock.now().toISOString() });
    await api.call('PUT', '/secrets/api-token', { token: ada.token, body: { value: 'another one' } });

    const list = await api.call('GET', '/secrets', { token: ada.token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((s: { name: string }) => s.name), ['api-token', 'stripe_key']);
    assert.ok(!list.text.includes('sk_live'), 'no value in the list');

    const [stored] = await store.secrets.getMany(ada.userId, ['stripe_key']);
    assert.ok(stored && !stored.ciphertext.includes('sk_live'));
    assert.equal(new SecretsCipher(TEST_SECRETS_KEY).open(ada.userId, 'stripe_key', stored.ciphertext), 'sk_live_two');
    assert.ok(!api.logs.join('').includes('sk_live'), 'no value in the logs');
  });

  test('per user: another user sees none of them and cannot delete them', async () => {
    assert.deepEqual((await api.call('GET', '/secrets', { token: bob.token })).body, { items: [] });
    assert.equal((await api.call('DELETE', '/secrets/stripe_key', { token: bob.token })).status, 404);
  });

  test('DELETE: 204, then 404', async () => {
    assert.equal((await api.call('DELETE', '/secrets/api-token', { token: ada.token })).status, 204);
    assert.equal((await api.call('DELETE', '/secrets/api-token', { token: ada.token })).status, 404);
  });

  test('400 for a bad name, a missing or too short value, unknown fields; 401 without a token', async () => {
    const bad = async (path: string, body: unknown) => {
      const res = await api.call('PUT', path, { token: ada.token, body });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      return (res.body.error.details ?? []).map((d: { path: string }) => d.path);
    };
    assert.deepEqual(await bad('/secrets/has.dot', { value: 'long enough' }), ['name']);
    assert.deepEqual(await bad('/secrets/ok', {}), ['value']);
    assert.deepEqual(await bad('/secrets/ok', { value: 'abc' }), ['value']);
    assert.deepEqual(await bad('/secrets/ok', { value: 'long enough', extra: 1 }), ['extra']);
    assert.equal((await api.call('GET', '/secrets')).status, 401);
  });
});
