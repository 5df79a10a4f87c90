import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createPostgresStore } from '../src/adapters/postgres/index.js';
import { toStoreError } from '../src/adapters/postgres/errors.js';
import { ConflictError, UnavailableError, type Store } from '../src/index.js';
import { freePort, postgresTier } from '../src/testing/index.js';

const tier = postgresTier();

describe('PostgreSQL error mapping', () => {
  it('maps every way a connection can be missing or lost to UnavailableError', () => {
    const lost: [string, object][] = [
      ['refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
      ['reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
      ['host unreachable', Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' })],
      ['admin shutdown / postmaster crash', Object.assign(new Error('terminating connection due to unexpected postmaster exit'), { code: '57P01' })],
      ['crash shutdown', Object.assign(new Error('terminating connection because of crash of another server process'), { code: '57P02' })],
      ['starting up', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
      ['too many connections', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
      ['connection failure', Object.assign(new Error('connection failure'), { code: '08006' })],
      ['connection does not exist', Object.assign(new Error('connection does not exist'), { code: '08003' })],
      ['protocol violation', Object.assign(new Error('protocol violation'), { code: '08P01' })],
      ['socket ended', new Error('Connection terminated unexpectedly')],
      ['broken client reused', new Error('Client has encountered a connection error and is not queryable')],
      ['pool timeout', new Error('timeout exceeded when trying to connect')],
      ['connect timeout', new Error('Connection terminated due to connection timeout')],
      ['query timeout', new Error('Query read timeout')],
    ];
    for (const [what, err] of lost) {
      const mapped = toStoreError(err);
      assert.ok(mapped instanceof UnavailableError, `${what} → UnavailableError`);
      assert.equal((mapped as UnavailableError).cause, err, `${what} keeps its cause`);
    }
    assert.ok(toStoreError(Object.assign(new Error('dup'), { code: '23505', constraint: 'users_email_key' })) instanceof ConflictError);
    const missingTable = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
    assert.equal(toStoreError(missingTable), missingTable, 'a bug stays a bug (500), not an outage');
    const authFailed = Object.assign(new Error('password authentication failed'), { code: '28P01' });
    assert.equal(toStoreError(authFailed), authFailed, 'a wrong password does not heal by waiting');
  });

  it('answers every call with UnavailableError when nothing listens on the port', async () => {
    const port = await freePort();
    const store = createPostgresStore({ url: `postgres://postgres@127.0.0.1:${port}/test` });
    try {
      await assert.rejects(store.init(), UnavailableError);
      await assert.rejects(store.ping(), UnavailableError);
      await assert.rejects(store.users.findById('u'), UnavailableError);
      await assert.rejects(store.uow.run((tx) => tx.users.findById('u')), UnavailableError);
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL store: connections killed under it', { skip: tier.skip }, () => {
  const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const schema = `wf_outage_${suffix}`;
  const applicationName = `wf_outage_${suffix}`;
  let store: Store;
  let admin: pg.Client;

  /** Ends every backend of this store's pool, as a server crash or restart would. */
  const killConnections = async () => {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return Number(rows[0]?.n ?? 0);
  };

  before(async () => {
    const url = new URL(tier.url!);
    url.searchParams.set('application_name', applicationName);
    store = createPostgresStore({ url: url.toString(), schema });
    await store.init();
    admin = new pg.Client({ connectionString: tier.url });
    await admin.connect();
  });

  after(async () => {
    await store?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  it('fails a unit of work whose connection dies mid-transaction with UnavailableError, and the process lives on', async () => {
    // Without an error listener on the checked-out client, the server's "terminating
    // connection" message arrives while no query runs, and pg turns it into an uncaught exception.
    const outcome = store.uow.run(async (tx) => {
      await tx.users.findById('before');
      assert.equal(await killConnections(), 1, 'the transaction holds one connection');
      await new Promise((r) => setTimeout(r, 300)); // the termination reaches the idle client
      return tx.users.findById('after');
    });
    await assert.rejects(outcome, UnavailableError);
    assert.equal(await store.users.findById('nobody'), null, 'the next call gets a fresh connection');
  });

  it('recovers from idle pooled connections killed under it', async () => {
    await Promise.all([store.ping(), store.ping(), store.ping()]);
    assert.ok((await killConnections()) >= 1);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) await store.ping(); // broken idle clients were discarded, not reused
  });
});
