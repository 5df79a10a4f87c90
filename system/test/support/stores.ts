import mongoose from 'mongoose';
import pg from 'pg';
import type { MongoMemoryReplSet } from 'mongodb-memory-server-core';
import { mongoTier, postgresTier } from '@wf/shared/testing';

/**
 * A durable store for the multi-process tests: a database of their own on a server that is
 * there (PostgreSQL on every machine; MongoDB when `MONGO_URL` or `MONGOMS_SYSTEM_BINARY`
 * is set), handed to the services through the same variables production uses.
 */
export interface DurableStore {
  readonly name: 'PostgreSQL' | 'MongoDB';
  /** Why the tier does not run here, or undefined when it does. */
  readonly skip: string | undefined;
  /** Creates database `name` and returns the services' environment for it. */
  provision(name: string): Promise<Record<string, string>>;
  /** Drops what `provision` created, and stops any server it started. */
  drop(): Promise<void>;
}

export function postgresStore(): DurableStore {
  const tier = postgresTier();
  let database: string | undefined;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: tier.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    name: 'PostgreSQL',
    skip: tier.skip,
    async provision(name) {
      await admin(`CREATE DATABASE ${name}`);
      database = name;
      const url = new URL(tier.url!);
      url.pathname = `/${name}`;
      return { STORE: 'postgres', DATABASE_URL: url.toString() };
    },
    async drop() {
      if (database) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

export function mongoStore(): DurableStore {
  const tier = mongoTier();
  let replSet: MongoMemoryReplSet | undefined;
  let url: string | undefined;
  return {
    name: 'MongoDB',
    skip: tier.skip,
    async provision(name) {
      let server = tier.url!;
      if (server === 'memory-server') {
        // A one-member replica set of the mongod at MONGOMS_SYSTEM_BINARY (transactions need a replica set).
        const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
        replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
        server = replSet.getUri();
      }
      const u = new URL(server);
      u.pathname = `/${name}`;
      url = u.toString();
      return { STORE: 'mongo', MONGO_URL: url };
    },
    async drop() {
      if (url) {
        const conn = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 5_000 }).asPromise();
        try {
          await conn.dropDatabase();
        } finally {
          await conn.close();
        }
      }
      await replSet?.stop();
    },
  };
}
