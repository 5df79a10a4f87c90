import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * No container engine runs where these tests run, so the deployment files cannot be
 * built here. This keeps them honest against the code instead: the compose file parses and
 * wires what the services read, and the Dockerfile builds and starts what exists.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const SERVICES = ['workflows-svc', 'scheduler-svc', 'runner-svc'] as const;

interface ComposeService {
  build?: { args?: Record<string, string> };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  command?: string[];
}

describe('deployment files', () => {
  const compose = parse(read('docker-compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> };

  it('compose runs MongoDB as a replica set, Kafka in KRaft mode, and the three services after both are healthy', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['kafka', 'mongo', 'runner-svc', 'scheduler-svc', 'workflows-svc']);
    assert.ok(compose.services.mongo?.command?.includes('--replSet'));
    assert.ok(compose.services.mongo?.healthcheck && compose.services.kafka?.healthcheck);
    assert.equal(compose.services.kafka?.environment?.KAFKA_PROCESS_ROLES, 'broker,controller');
    for (const name of SERVICES) {
      const svc = compose.services[name]!;
      assert.equal(svc.build?.args?.SERVICE, name);
      assert.deepEqual(svc.depends_on, { mongo: { condition: 'service_healthy' }, kafka: { condition: 'service_healthy' } });
    }
  });

  it('every variable compose sets is one the service reads', () => {
    for (const name of SERVICES) {
      const config = read(`${name}/src/config.ts`) + read('shared/src/settings.ts');
      for (const variable of Object.keys(compose.services[name]!.environment ?? {})) {
        assert.match(config, new RegExp(`\\b${variable}\\b`), `${name} does not read ${variable}`);
      }
    }
    assert.match(read('docker-compose.yaml'), /JWT_SECRET: \$\{JWT_SECRET:\?/, 'JWT_SECRET is required, never defaulted');
  });

  it('the Dockerfile is multi-stage, builds with the lockfile, runs as non-root with a health check, and starts an existing entry point', () => {
    const dockerfile = read('Dockerfile');
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(dockerfile, /npm ci --no-audit/);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.ok(existsSync(join(root, 'package-lock.json')));
    const lastUser = [...dockerfile.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
    assert.equal(lastUser, 'node');
    assert.match(dockerfile, /^HEALTHCHECK /m);
    assert.match(dockerfile, /\$\{SERVICE\}\/dist\/src\/main\.js/);
    for (const name of SERVICES) {
      assert.ok(existsSync(join(root, name, 'src', 'main.ts')), `${name}/src/main.ts exists`);
      assert.match(dockerfile, new RegExp(`COPY ${name}/package.json`), `${name}'s manifest is copied for npm ci`);
    }
    for (const ws of JSON.parse(read('package.json')).workspaces as string[]) {
      assert.match(dockerfile, new RegExp(`COPY ${ws}/package.json`), `workspace ${ws} is present for npm ci`);
    }
  });
});
