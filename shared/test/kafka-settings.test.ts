import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { KAFKA_SETTINGS_FILE, kafkaStartScript } from '../src/testing/containers.js';

/*
 * One source for the single-node broker's settings (infra/kafka/server.properties): the
 * testcontainers tier's start script and scripts/kafka-local.sh both render it, each with
 * its own listeners and data directory. The container itself is proven where an engine
 * runs (CI); this checks what is written into it.
 */

/** key → values, in order, of a server.properties text (comments and blank lines left out). */
function properties(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    assert.ok(eq > 0, `not a key=value line: ${line}`);
    const key = trimmed.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), trimmed.slice(eq + 1)]);
  }
  return out;
}

const LISTENER_KEYS = ['listeners', 'advertised.listeners', 'controller.quorum.voters', 'inter.broker.listener.name', 'listener.security.protocol.map', 'log.dirs'];
const settings = readFileSync(KAFKA_SETTINGS_FILE, 'utf8');

/** The server.properties the container's start script writes (the text of its heredoc). */
function containerProperties(script: string): string {
  const match = /<< 'EOF'\n([\s\S]*?)\nEOF\n/.exec(script);
  assert.ok(match, 'the start script writes server.properties through a heredoc');
  return match[1]!;
}

describe('the single-node Kafka settings', () => {
  it('name no listener, host, port or data directory: those belong to each broker that uses them', () => {
    const shared = properties(settings);
    for (const key of LISTENER_KEYS) assert.equal(shared.has(key), false, `${key} is in ${KAFKA_SETTINGS_FILE}`);
    assert.equal(shared.get('process.roles')?.[0], 'broker,controller');
    assert.doesNotMatch(settings, /^(EOF|# end)$/m, 'a line that would end the start script\'s heredoc, or start the broker early');
  });

  it('the container\'s start script: every shared setting once, then its own listeners, clients advertised the mapped port', () => {
    const script = kafkaStartScript('127.0.0.1:49153');
    const written = properties(containerProperties(script));
    for (const [key, values] of properties(settings)) assert.deepEqual(written.get(key), values, key);
    for (const [key, values] of written) assert.equal(values.length, 1, `${key} set ${values.length} times`);
    assert.equal(written.get('advertised.listeners')?.[0], 'PLAINTEXT://127.0.0.1:49153,BROKER://localhost:9094');
    assert.equal(written.get('inter.broker.listener.name')?.[0], 'BROKER');
    assert.equal(written.get('log.dirs')?.[0], '/tmp/kraft-combined-logs');
    assert.match(script, /\n# end\n$/, 'the line the container waits for comes last');
  });

  it('scripts/kafka-local.sh writes the same settings below its own listeners', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kafka-settings-'));
    try {
      const script = fileURLToPath(new URL('../../../scripts/kafka-local.sh', import.meta.url));
      const written = execFileSync('bash', [script, 'config'], {
        env: { ...process.env, KAFKA_DATA_DIR: dataDir, KAFKA_PORT: '19792', KAFKA_CONTROLLER_PORT: '19793', KAFKA_EXTRA_CONFIG: '' },
        encoding: 'utf8',
      }).trim();
      assert.equal(written, join(dataDir, 'config', 'server.properties'));
      const props = properties(readFileSync(written, 'utf8'));
      for (const [key, values] of properties(settings)) assert.deepEqual(props.get(key), values, key);
      for (const [key, values] of props) assert.equal(values.length, 1, `${key} set ${values.length} times`);
      assert.equal(props.get('listeners')?.[0], 'PLAINTEXT://127.0.0.1:19792,CONTROLLER://127.0.0.1:19793');
      assert.equal(props.get('log.dirs')?.[0], join(dataDir, 'kraft-combined-logs'));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
