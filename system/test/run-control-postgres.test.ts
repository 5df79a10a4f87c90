import { after, describe } from 'node:test';
import pg from 'pg';
import { createPostgresStore } from '@wf/shared/postgres';
import { kafkaTier, postgresTier } from '@wf/shared/testing';
import { retentionScenarios, runControlScenarios } from './run-control.scenarios.js';

const kafka = kafkaTier();
const postgres = postgresTier();
const skip = kafka.skip ?? postgres.skip;
// A schema of its own, dropped at the end.
const schema = `wf_runctl_${process.pid}_${Date.now().toString(36)}`;

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
  if (skip || !postgres.url) return;
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.query(`DROP SCHEMA IF EXISTS ${schema}_ret CASCADE`);
  await client.end();
});
