#!/usr/bin/env node
// Runs every package's compiled node:test suites in one `node --test` run, so the output
// ends with the runner's own summary (the dashboard's browser tests among them); before it,
// the dashboard's unit tier with its own toolchain's runner (vitest). When KAFKA_BROKERS is not set and Java and Maven are
// present, starts the local KRaft broker (scripts/kafka-local.sh) for the Kafka tier and
// stops it afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['shared', 'workflows-svc', 'scheduler-svc', 'runner-svc', 'system', 'web'];
const kafkaScript = join(root, 'scripts', 'kafka-local.sh');

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

let startedBroker = false;
if (!process.env.KAFKA_BROKERS && process.env.SKIP_KAFKA !== '1') {
  if (has('java') && has('mvn') && existsSync(kafkaScript)) {
    // A broker someone else started (a developer's, another run's) is used and left running.
    const alreadyRunning = spawnSync('bash', [kafkaScript, 'status'], { stdio: 'ignore' }).status === 0;
    if (!alreadyRunning) {
      console.error('run-tests: KAFKA_BROKERS is not set; starting the local Kafka broker');
      const started = spawnSync('bash', [kafkaScript, 'start'], { stdio: 'inherit' });
      if (started.status !== 0) process.exit(started.status ?? 1);
      startedBroker = true;
    }
    process.env.KAFKA_BROKERS = `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;
  } else {
    console.error('run-tests: KAFKA_BROKERS is not set and Java/Maven are missing; the Kafka tier will be skipped');
  }
}

const webUnits = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], { cwd: join(root, 'web'), stdio: 'inherit', env: process.env });

const dirs = packages.map((p) => join(root, p, 'dist', 'test')).filter((d) => existsSync(d));
const args = ['--test', '--test-timeout=180000', '--test-concurrency=1', ...process.argv.slice(2), ...dirs];
const run = spawnSync(process.execPath, args, { stdio: 'inherit', env: process.env });

if (startedBroker) spawnSync('bash', [kafkaScript, 'stop'], { stdio: 'inherit' });
if (webUnits.status !== 0) console.error('run-tests: the dashboard unit tier (vitest) failed; see above');
process.exit(run.status || webUnits.status || 0);
