import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { mongoTier, postgresTier, startTierServers, type TestServer } from '../src/testing/index.js';

/*
 * Which servers a test run starts for itself, with a stand-in engine: the real one (Docker or
 * Podman through testcontainers) is proven by CI, which runs the server-backed suites with
 * no URL set and Podman answering (.ci/run).
 */

const quiet = () => undefined;

/** A starter that records the images it was asked for and the servers it stopped. */
function recordingStarter(url: string) {
  const images: string[] = [];
  let stops = 0;
  const start = async (image: string): Promise<TestServer> => {
    images.push(image);
    return { url, stop: async () => void stops++ };
  };
  return { start, images, stops: () => stops };
}

describe('startTierServers', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('starts nothing, and asks no engine, when every tier has its server', async () => {
    const env = { DATABASE_URL: 'postgres://db', KAFKA_BROKERS: 'k:9092', MONGO_URL: 'mongodb://m' };
    let asked = false;
    const servers = await startTierServers({ env, log: quiet, findEngine: async () => ((asked = true), 'engine') });
    assert.equal(asked, false);
    assert.deepEqual(servers.set, {});
    assert.deepEqual(env, { DATABASE_URL: 'postgres://db', KAFKA_BROKERS: 'k:9092', MONGO_URL: 'mongodb://m' });
  });

  it('leaves the environment alone when no engine answers', async () => {
    const env: NodeJS.ProcessEnv = { DATABASE_URL: 'postgres://db' };
    const lines: string[] = [];
    const servers = await startTierServers({ env, log: (l) => lines.push(l), findEngine: async () => undefined });
    assert.deepEqual(servers.set, {});
    assert.deepEqual(env, { DATABASE_URL: 'postgres://db' });
    assert.match(lines.join('\n'), /no container engine answers; KAFKA_BROKERS, MONGO_URL not set/);
  });

  it('starts only the missing servers, from the images the variables name, and gives their URLs in the tiers\' variables', async () => {
    const postgres = recordingStarter('postgres://test:test@127.0.0.1:5999/test');
    const kafka = recordingStarter('127.0.0.1:9999');
    const mongo = recordingStarter('mongodb://127.0.0.1:27999/?directConnection=true');
    const env: NodeJS.ProcessEnv = { MONGOMS_SYSTEM_BINARY: '/usr/bin/mongod', TEST_KAFKA_IMAGE: 'local/kafka:3.9.2' };
    const servers = await startTierServers({
      env,
      log: quiet,
      findEngine: async () => 'engine',
      starters: { POSTGRES: postgres.start, KAFKA: kafka.start, MONGO: mongo.start },
    });
    assert.deepEqual(postgres.images, ['postgres:15-alpine']);
    assert.deepEqual(kafka.images, ['local/kafka:3.9.2']);
    assert.deepEqual(mongo.images, [], 'MONGOMS_SYSTEM_BINARY gives the mongo tier its server');
    assert.equal(env.DATABASE_URL, 'postgres://test:test@127.0.0.1:5999/test');
    assert.equal(env.KAFKA_BROKERS, '127.0.0.1:9999');
    assert.deepEqual(Object.keys(servers.set).sort(), ['DATABASE_URL', 'KAFKA_BROKERS']);

    await servers.stop();
    assert.deepEqual([postgres.stops(), kafka.stops()], [1, 1]);
  });

  it('a server that cannot be started leaves its tier skipped with the reason, or failing under REQUIRE_<TIER>=1', async () => {
    const postgres = recordingStarter('postgres://test:test@127.0.0.1:5999/test');
    const env = process.env;
    delete env.DATABASE_URL;
    delete env.MONGO_URL;
    delete env.MONGOMS_SYSTEM_BINARY;
    delete env.REQUIRE_MONGO;
    env.KAFKA_BROKERS = '127.0.0.1:9092';
    const servers = await startTierServers({
      log: quiet,
      findEngine: async () => 'engine',
      starters: {
        POSTGRES: postgres.start,
        MONGO: async (image) => {
          throw new Error(`no such image: docker.io/library/${image}\nmore detail`);
        },
      },
    });
    assert.equal(postgresTier().url, 'postgres://test:test@127.0.0.1:5999/test');
    const skip = mongoTier().skip ?? assert.fail('the mongo tier runs without a server');
    assert.match(skip, /^mongo tier skipped: the container engine could not start mongo:7: no such image: docker\.io\/library\/mongo:7; TEST_MONGO_IMAGE names another image; set MONGO_URL/);

    env.REQUIRE_MONGO = '1';
    assert.throws(() => mongoTier(), /REQUIRE_MONGO=1 but the mongo tier has no server: the container engine could not start mongo:7/);
    await servers.stop();
  });
});
