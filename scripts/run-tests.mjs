#!/usr/bin/env node
// Runs every package's compiled node:test suites in one `node --test` run, so the output
// ends with the runner's own summary (the dashboard's browser tests among them), after the
// dashboard's unit tier with its own toolchain's runner (vitest); or only the test files given (paths ending in .js).
//
// Servers first: a tier whose variable is not set (DATABASE_URL, KAFKA_BROKERS, MONGO_URL)
// gets a container when Docker or Podman answers (startTierServers); Kafka otherwise gets
// the local KRaft broker (scripts/kafka-local.sh) when Java and Maven are present, unless
// SKIP_KAFKA=1. Whatever this starts, it stops afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTierServers } from '@wf/shared/testing';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['shared', 'workflows-svc', 'scheduler-svc', 'runner-svc', 'system', 'web'];
const kafkaScript = join(root, 'scripts', 'kafka-local.sh');

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// Interrupted, this still stops what it started: the tests (which get the signal too) end,
// then the servers stop.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (interrupted = true));

const servers = await startTierServers();
let startedBroker = false;
const stopAll = async () => {
  await servers.stop();
  if (startedBroker) spawnSync('bash', [kafkaScript, 'stop'], { stdio: 'inherit' });
};

if (!process.env.KAFKA_BROKERS && process.env.SKIP_KAFKA !== '1' && !interrupted) {
  if (has('java') && has('mvn') && existsSync(kafkaScript)) {
    // A broker someone else started (a developer's, another run's) is used and left running.
    const alreadyRunning = spawnSync('bash', [kafkaScript, 'status'], { stdio: 'ignore' }).status === 0;
    if (!alreadyRunning) {
      console.error('run-tests: KAFKA_BROKERS is not set; starting the local Kafka broker');
      const started = spawnSync('bash', [kafkaScript, 'start'], { stdio: 'inherit' });
      if (started.status !== 0) {
        await stopAll();
        process.exit(started.status ?? 1);
      }
      startedBroker = true;
    }
    process.env.KAFKA_BROKERS = `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;
  } else {
    console.error('run-tests: KAFKA_BROKERS is not set and Java/Maven are missing; the Kafka tier will be skipped');
  }
}

const args = process.argv.slice(2);
const files = args.filter((a) => a.endsWith('.js'));
// The dashboard's unit tier runs with the whole suite, not when only some files are asked for.
const webUnits =
  interrupted || files.length > 0
    ? { status: interrupted ? 130 : 0 }
    : spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], { cwd: join(root, 'web'), stdio: 'inherit', env: process.env });
const options = args.filter((a) => !a.endsWith('.js'));
const targets = files.length > 0 ? files : packages.map((p) => join(root, p, 'dist', 'test')).filter((d) => existsSync(d));
const run = interrupted
  ? { status: 130 }
  : spawnSync(process.execPath, ['--test', '--test-timeout=180000', '--test-concurrency=1', ...options, ...targets], { stdio: 'inherit', env: process.env });

await stopAll();
if (webUnits.status !== 0) console.error('run-tests: the dashboard unit tier (vitest) failed; see above');
process.exit(interrupted ? 130 : run.status || webUnits.status || 0);
