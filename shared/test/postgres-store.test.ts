import { after } from 'node:test';
import pg from 'pg';
import { createPostgresStore } from '../src/adapters/postgres/index.js';
import { postgresTier } from '../src/testing/index.js';
import { describeStoreContract } from './contract/store-contract.js';

const tier = postgresTier();
// A schema of its own per run, dropped at the end, so runs never see each other's rows.
const schema = `wf_test_${process.pid}_${Date.now().toString(36)}`;

describeStoreContract('postgres', async () => createPostgresStore({ url: tier.url!, schema }), tier.skip ? { skip: tier.skip } : {});

after(async () => {
  if (!tier.url) return;
  const client = new pg.Client({ connectionString: tier.url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});
