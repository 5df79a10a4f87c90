import { after } from 'node:test';
import { createPostgresStore } from '../src/adapters/postgres/index.js';
import { dropSchemas, postgresTier, uniqueSchemaName } from '../src/testing/index.js';
import { describeStoreContract } from './contract/store-contract.js';

const tier = postgresTier();
// A schema of its own per run, dropped at the end, so runs never see each other's rows.
const schema = uniqueSchemaName('wf_test');

describeStoreContract('postgres', async () => createPostgresStore({ url: tier.url!, schema }), tier.skip ? { skip: tier.skip } : {});

after(async () => {
  if (tier.url) await dropSchemas(tier.url, schema);
});
