#!/usr/bin/env node
// `npm run openapi:check` (CI runs it): writes the OpenAPI document the API serves to
// workflows-svc/dist/openapi/openapi.json, lints it with Redocly (any error fails), generates
// TypeScript types from it with openapi-typescript and type-checks a small client written
// against them (workflows-svc/openapi-client/walk.ts). Run `npm run build` first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '@wf/workflows-svc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'workflows-svc', 'dist', 'openapi');
const documentPath = join(out, 'openapi.json');
mkdirSync(out, { recursive: true });
writeFileSync(documentPath, `${JSON.stringify(openApiDocument(), null, 2)}\n`);

const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_UPDATE_NOTIFIER: '1' };
const bin = (name) => join(root, 'node_modules', '.bin', name);
function step(what, command, args) {
  console.log(`== openapi: ${what}`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`openapi: ${what} failed (${result.error?.message ?? `exit ${result.status}`})`);
    process.exit(1);
  }
}

step('lint (Redocly, redocly.yaml)', bin('redocly'), ['lint', '--format=stylish', documentPath]);
step('generate TypeScript types (openapi-typescript)', bin('openapi-typescript'), [documentPath, '-o', join(out, 'schema.d.ts')]);
step('type-check a client written against them', bin('tsc'), ['-p', join(root, 'workflows-svc', 'openapi-client', 'tsconfig.json')]);
console.log('openapi: document lints clean of errors; the generated client type-checks');
