import { after } from 'node:test';
import { MongoMemoryReplSet } from 'mongodb-memory-server-core';
import { createMongoStore } from '../src/adapters/mongo/index.js';
import { mongoTier } from '../src/testing/index.js';
import { describeStoreContract } from './contract/store-contract.js';

const tier = mongoTier();
// A database of its own per run; transactions need a replica set, so the memory server runs one.
const dbName = `wf_test_${process.pid}_${Date.now().toString(36)}`;
let replSet: MongoMemoryReplSet | undefined;

describeStoreContract(
  'mongo',
  async () => {
    let url = process.env.MONGO_URL;
    if (!url) {
      replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
      url = replSet.getUri();
    }
    return createMongoStore({ url, dbName });
  },
  tier.skip ? { skip: tier.skip } : {},
);

after(async () => {
  await replSet?.stop();
});
