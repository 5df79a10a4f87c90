import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { ConflictError, UnauthorizedError, type User } from '@wf/shared';
import { FakeClock } from '@wf/shared/testing';
import { LogIn } from '../../src/app/log-in.js';
import type { AccessTokens, PasswordHasher } from '../../src/app/ports.js';
import { SignUp } from '../../src/app/sign-up.js';
import { mockStore } from '../support/mock-store.js';

function ports() {
  const passwords = {
    hash: mock.fn<PasswordHasher['hash']>(async (pw) => `hashed:${pw}`),
    verify: mock.fn<PasswordHasher['verify']>(async (pw, stored) => stored === `hashed:${pw}`),
  };
  const tokens = {
    issue: mock.fn<AccessTokens['issue']>((userId) => ({ token: `token-for-${userId}`, expiresIn: 3600 })),
    verify: mock.fn<AccessTokens['verify']>(() => 'x'),
  };
  return { passwords, tokens };
}

const alice: User = { userId: 'u-1', email: 'alice@example.com', passwordHash: 'hashed:right password', createdAt: new Date(0), sessionVersion: 0 };

describe('SignUp', () => {
  test('stores the hash, never the password, and returns a token for the new user', async () => {
    const { store, direct } = mockStore();
    const { passwords, tokens } = ports();
    const result = await new SignUp(store, new FakeClock(), passwords, tokens).execute({ email: 'bob@example.com', password: 'long enough' });
    const user = direct.users.create.mock.calls[0]?.arguments[0] as User;
    assert.equal(user.passwordHash, 'hashed:long enough');
    assert.equal(user.email, 'bob@example.com');
    assert.deepEqual(result, { userId: user.userId, email: 'bob@example.com', token: `token-for-${user.userId}`, expiresIn: 3600 });
  });

  test('a taken email is a 409 email_taken after the same one hash a new email costs (equal time for both answers)', async () => {
    const { store, direct } = mockStore();
    const { passwords, tokens } = ports();
    await new SignUp(store, new FakeClock(), passwords, tokens).execute({ email: 'new@example.com', password: 'whatever1' });
    assert.equal(passwords.hash.mock.callCount(), 1, 'a new email: one hash');
    direct.users.findByEmail.mock.mockImplementation(async () => alice);
    await assert.rejects(new SignUp(store, new FakeClock(), passwords, tokens).execute({ email: alice.email, password: 'whatever1' }), {
      status: 409,
      code: 'email_taken',
    });
    assert.equal(passwords.hash.mock.callCount(), 2, 'a taken email: one hash too');
    assert.equal(direct.users.create.mock.callCount(), 1, 'only the new email was stored');
  });

  test('losing the race at the unique index is the same 409', async () => {
    const { store, direct } = mockStore();
    const { passwords, tokens } = ports();
    direct.users.create.mock.mockImplementation(async () => {
      throw new ConflictError('dup', undefined, 'duplicate_key');
    });
    await assert.rejects(new SignUp(store, new FakeClock(), passwords, tokens).execute({ email: 'c@example.com', password: 'whatever1' }), {
      code: 'email_taken',
    });
  });
});

describe('LogIn', () => {
  test('the right password gets a token', async () => {
    const { store, direct } = mockStore();
    const { passwords, tokens } = ports();
    direct.users.findByEmail.mock.mockImplementation(async () => alice);
    assert.deepEqual(await new LogIn(store, passwords, tokens).execute({ email: alice.email, password: 'right password' }), {
      token: 'token-for-u-1',
      expiresIn: 3600,
    });
  });

  test('unknown email and wrong password: the same error after the same work (one verify each)', async () => {
    const { store, direct } = mockStore();
    const { passwords, tokens } = ports();
    direct.users.findByEmail.mock.mockImplementation(async (email) => (email === alice.email ? alice : null));
    const login = new LogIn(store, passwords, tokens);

    const wrong = await login.execute({ email: alice.email, password: 'wrong' }).catch((e: unknown) => e);
    const unknown = await login.execute({ email: 'nobody@example.com', password: 'wrong' }).catch((e: unknown) => e);

    assert.ok(wrong instanceof UnauthorizedError);
    assert.ok(unknown instanceof UnauthorizedError);
    assert.equal(wrong.message, unknown.message);
    assert.equal(passwords.verify.mock.callCount(), 2, 'the unknown email is verified too, against a dummy hash');
    const dummy = passwords.verify.mock.calls[1]?.arguments[1];
    assert.ok(dummy?.startsWith('hashed:'), 'the dummy is a real hash from the same hasher');
    assert.notEqual(dummy, alice.passwordHash);
    assert.equal(tokens.issue.mock.callCount(), 0);
  });
});
