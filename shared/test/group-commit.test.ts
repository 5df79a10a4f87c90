import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createMemoryStore } from '../src/adapters/memory/index.js';
import { GroupCommit, type Repos, type Store, type User } from '../src/index.js';

const user = (n: number): User => ({ userId: `u${n}`, email: `u${n}@example.com`, passwordHash: 'x', createdAt: new Date(0), sessionVersion: 0 });

/** A memory store that counts its transactions. */
function counted(): { store: Store; transactions: ReturnType<typeof mock.fn> } {
  const inner = createMemoryStore();
  const transactions = mock.fn();
  const store: Store = Object.assign(Object.create(inner) as Store, {
    uow: {
      run: <T>(work: (tx: Repos) => Promise<T>) => {
        transactions();
        return inner.uow.run(work);
      },
    },
  });
  return { store, transactions };
}

describe('GroupCommit', () => {
  it('runs a lone unit of work in its own transaction and a lone statement without one', async () => {
    const { store, transactions } = counted();
    const commit = new GroupCommit(store);
    await commit.run((tx) => tx.users.create(user(1)));
    assert.equal(transactions.mock.callCount(), 1);
    await commit.runSingleWrite((repos) => repos.users.create(user(2)));
    assert.equal(transactions.mock.callCount(), 1, 'a single statement needs no transaction');
    assert.ok(await store.users.findById('u1'));
    assert.ok(await store.users.findById('u2'));
  });

  it('groups what arrives while the transactions in flight are busy into the next one', async () => {
    const { store, transactions } = counted();
    const commit = new GroupCommit(store, { maxInFlight: 1, maxGroup: 64 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        commit.run(async (tx) => {
          await tx.users.create(user(i));
          return i;
        }),
      ),
    );
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each part gets its own result');
    assert.equal(transactions.mock.callCount(), 2, 'the first alone, the nine that waited together');
    for (let i = 0; i < 10; i++) assert.ok(await store.users.findById(`u${i}`));
  });

  it('gives each part of a failed group the outcome it would have had alone', async () => {
    const { store, transactions } = counted();
    const commit = new GroupCommit(store, { maxInFlight: 1 });
    const first = commit.run((tx) => tx.users.create(user(0)));
    const group = [1, 2, 3].map((i) =>
      commit.run(async (tx) => {
        await tx.users.create(user(i));
        if (i === 2) throw new Error('part 2 fails after writing');
      }),
    );
    const settled = await Promise.allSettled([first, ...group]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((settled[2] as PromiseRejectedResult).reason), /part 2 fails/);
    assert.ok(await store.users.findById('u1'));
    assert.equal(await store.users.findById('u2'), null, "the failed part's write was rolled back");
    assert.ok(await store.users.findById('u3'));
    assert.equal(transactions.mock.callCount(), 1 + 1 + 3, 'the first, the failed group, then one each');
  });

  it('lets a statement that conflicts fail alone, inside a group', async () => {
    const { store } = counted();
    const commit = new GroupCommit(store, { maxInFlight: 1 });
    await store.users.create(user(9));
    const parts = [commit.runSingleWrite((r) => r.users.create(user(5))), commit.runSingleWrite((r) => r.users.create(user(9))), commit.runSingleWrite((r) => r.users.create(user(6)))];
    const settled = await Promise.allSettled(parts);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok(await store.users.findById('u5'));
    assert.ok(await store.users.findById('u6'));
  });
});
