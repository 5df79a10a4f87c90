import { after, describe } from 'node:test';
import { createPostgresStore } from '@wf/shared/postgres';
import { dropSchemas, kafkaTier, postgresTier, uniqueSchemaName } from '@wf/shared/testing';
import { retentionScenarios, runControlScenarios } from './run-control.scenarios.js';

const kafka = kafkaTier();
const postgres = postgresTier();
const skip = kafka.skip ?? postgres.skip;
// A schema of its own, dropped at the end.
const schema = uniqueSchemaName('wf_runctl');

describe('run control end to end on PostgreSQL and the real Kafka broker', { ...(skip ? { skip } : {}) }, () => {
  runControlScenarios({
    brokers: kafka.url?.split(','),
    store: async () => createPostgresStore({ url: postgres.url!, schema }),
  });
});

describe('retention end to end on PostgreSQL and the real Kafka broker', { ...(skip ? { skip } : {}) }, () => {
  retentionScenarios({
    brokers: kafka.url?.split(','),
    // A schema of its own: the retention job deletes across owners.
    store: async () => createPostgresStore({ url: postgres.url!, schema: `${schema}_ret` }),
  });
});

after(async () => {
  if (!skip && postgres.url) await dropSchemas(postgres.url, schema, `${schema}_ret`);
});
