import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mongoose from 'mongoose';
import { createMongoStore } from '../src/adapters/mongo/index.js';
import { isUnavailable } from '../src/adapters/mongo/errors.js';
import { UnavailableError } from '../src/index.js';

const { mongo } = mongoose;

/*
 * What a MongoDB outage looks like to the store, without a server: a port that accepts TCP
 * connections and drops them (a mongod going down), and the server errors of a replica set
 * between primaries.
 */
describe('mongo store without a server', () => {
  let server: Server;
  let connections = 0;
  const sockets = new Set<Socket>();
  let url: string;

  before(async () => {
    server = createServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mongodb://127.0.0.1:${(server.address() as { port: number }).port}/wf?directConnection=true`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('tries the first connection again on the next use when it failed at start-up (the driver would not)', async () => {
    const store = createMongoStore({ url, serverSelectionTimeoutMs: 300 });
    try {
      await assert.rejects(store.init(), UnavailableError);
      await new Promise((r) => setTimeout(r, 500));
      const afterFirst = connections;
      assert.ok(afterFirst > 0, 'the first attempt reached the port');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(connections, afterFirst, 'nothing retries in the background once the first connection failed');
      await assert.rejects(store.init(), UnavailableError);
      await assert.rejects(store.ping(), UnavailableError);
      await assert.rejects(store.uow.run((tx) => tx.users.findById('u')), UnavailableError);
      assert.ok(connections > afterFirst, 'a later use opened the connection again');
    } finally {
      await store.close();
    }
  });

  it('counts a replica set between primaries, or a node shutting down, as unavailable', () => {
    for (const [code, codeName] of [
      [10107, 'NotWritablePrimary'],
      [13435, 'NotPrimaryNoSecondaryOk'],
      [13436, 'NotPrimaryOrSecondary'],
      [189, 'PrimarySteppedDown'],
      [91, 'ShutdownInProgress'],
      [11600, 'InterruptedAtShutdown'],
      [11602, 'InterruptedDueToReplStateChange'],
      [6, 'HostUnreachable'],
      [89, 'NetworkTimeout'],
    ] as const) {
      assert.ok(isUnavailable(new mongo.MongoServerError({ code, codeName, errmsg: codeName })), codeName);
    }
    assert.equal(isUnavailable(new mongo.MongoServerError({ code: 11000, codeName: 'DuplicateKey', errmsg: 'E11000' })), false);
    assert.equal(isUnavailable(new mongo.MongoServerError({ code: 2, codeName: 'BadValue', errmsg: 'bad' })), false);
  });
});
