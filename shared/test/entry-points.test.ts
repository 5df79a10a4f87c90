import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const sharedRoot = fileURLToPath(new URL('../../', import.meta.url));
const DRIVERS = ['mongoose', 'mongodb', 'pg', 'kafkajs', 'axios', 'prom-client'];

/** A module hook that writes every URL Node resolves to a log file. */
const RECORD_RESOLVED = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}`;

describe('entry points of @wf/shared', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wf-entry-points-'));
    await writeFile(join(dir, 'hooks.mjs'), RECORD_RESOLVED);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs `code` as an ES module in a fresh Node and returns the npm packages it loaded. */
  async function packagesLoadedBy(code: string): Promise<Set<string>> {
    const log = join(dir, `${Math.random().toString(36).slice(2)}.log`);
    await writeFile(log, '');
    const register = `import { register } from 'node:module'; register(${JSON.stringify(new URL('hooks.mjs', `file://${dir}/`).href)}, { data: { log: ${JSON.stringify(log)} } });`;
    await promisify(execFile)(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', code], {
      cwd: sharedRoot,
    });
    const urls = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    return new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
  }

  it('the core, and a memory store and in-process bus opened by settings, load no driver', async () => {
    const loaded = await packagesLoadedBy(`
      import { silentLogger } from '@wf/shared';
      import { createStore, openBus } from '@wf/shared/open';
      const store = await createStore({ kind: 'memory' }, silentLogger);
      await store.init();
      const bus = await openBus({ kind: 'in-process' }, silentLogger);
      await bus.close();
      await store.close();`);
    assert.ok(loaded.has('zod'), 'the hook saw the core load its own dependencies');
    assert.deepEqual(DRIVERS.filter((name) => loaded.has(name)), []);
  });

  it('an adapter family loads its own driver and no other', async () => {
    const loaded = await packagesLoadedBy(`import '@wf/shared/postgres';`);
    assert.ok(loaded.has('pg'));
    assert.deepEqual(DRIVERS.filter((name) => name !== 'pg' && loaded.has(name)), []);
  });
});
