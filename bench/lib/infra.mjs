// The servers the scenarios need: Redis (BullMQ), PostgreSQL, Kafka. The bench uses the
// ones already running and starts what is missing where it can, stopping afterwards only
// what it started itself.
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { freePort } from './processes.mjs';
import { sleep } from './stats.mjs';

/** A scenario that cannot run here; reported as skipped, not as a harness failure. */
export class SkipScenario extends Error {}

export function tcpReachable(host, port, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Redis for BullMQ: REDIS_URL, else 127.0.0.1:6379, else a private redis-server on a free port. */
export async function ensureRedis(cleanups, log) {
  if (process.env.REDIS_URL) {
    const u = new URL(process.env.REDIS_URL);
    return { host: u.hostname, port: Number(u.port || 6379) };
  }
  if (await tcpReachable('127.0.0.1', 6379)) return { host: '127.0.0.1', port: 6379 };
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new SkipScenario('no Redis on 127.0.0.1:6379 and no redis-server to start (set REDIS_URL)');
  }
  const port = await freePort();
  log(`no Redis on 127.0.0.1:6379: starting redis-server on ${port}`);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGTERM'));
  for (let i = 0; i < 50 && !(await tcpReachable('127.0.0.1', port)); i++) await sleep(100);
  return { host: '127.0.0.1', port };
}

/**
 * Kafka: KAFKA_BROKERS if set, else 127.0.0.1:9092, started with scripts/kafka-local.sh
 * (idempotent) when nothing listens there; stopped at the end only if this run started it.
 */
export async function ensureKafka(repo, cleanups, log) {
  if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS;
  const brokers = '127.0.0.1:9092';
  if (await tcpReachable('127.0.0.1', 9092)) return brokers;
  const script = join(repo, 'scripts', 'kafka-local.sh');
  log('no Kafka broker on 127.0.0.1:9092: starting one with scripts/kafka-local.sh start');
  const r = spawnSync('bash', [script, 'start'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new SkipScenario('no Kafka broker on 127.0.0.1:9092 and scripts/kafka-local.sh could not start one (set KAFKA_BROKERS)');
  cleanups.push(() => spawnSync('bash', [script, 'stop'], { stdio: ['ignore', 'inherit', 'inherit'] }));
  return brokers;
}

export const pgAdminUrl = () => process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database on the PostgreSQL server; returns its URL. */
export async function createDatabase(name) {
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  try {
    await admin.connect();
  } catch (err) {
    throw new SkipScenario(`PostgreSQL at ${pgAdminUrl()} is unreachable (${err.message}); set BENCH_DATABASE_URL`);
  }
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgAdminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(name) {
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Deletes this run's topics from the shared broker (best effort). */
export async function deleteTopics(brokers, topics) {
  const kafka = new kafkajs.Kafka({ clientId: 'wf-bench-cleanup', brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length) await admin.deleteTopics({ topics: mine, timeout: 10_000 });
  } catch {
    // the topics are unique to the run; leftovers only cost disk
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** How many partitions each of `topics` has on the broker (0 for a topic that does not exist). */
export async function topicPartitions(brokers, topics) {
  const kafka = new kafkajs.Kafka({ clientId: 'wf-bench-admin', brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics: topics.filter((t) => existing.has(t)) });
    const counts = Object.fromEntries(topics.map((t) => [t, 0]));
    for (const t of metadata) counts[t.name] = t.partitions.length;
    return counts;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
