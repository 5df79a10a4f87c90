// The bundle-size budget, checked on the build `npm test` just made (and so in CI).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUILD_DIR = fileURLToPath(new URL('../../app/', import.meta.url));

/** Gzipped bytes: what a browser downloads. */
const BUDGET = {
  /** What the first page loads before it can run: index.html's script and style. */
  firstPageKb: 150,
  /** Every script of the app, lazily loaded ones included. */
  allScriptsKb: 200,
  allStylesKb: 10,
};

const gzipKb = (file: string) => gzipSync(readFileSync(file)).length / 1024;

test('the dashboard stays within its bundle-size budget', () => {
  assert.ok(existsSync(join(BUILD_DIR, 'index.html')), `no build in ${BUILD_DIR}: run npm run build`);
  const html = readFileSync(join(BUILD_DIR, 'index.html'), 'utf8');
  const firstPage = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => join(BUILD_DIR, m[1]!));
  assert.ok(firstPage.some((f) => f.endsWith('.js')), 'index.html loads a script');
  const assets = readdirSync(join(BUILD_DIR, 'assets')).map((f) => join(BUILD_DIR, 'assets', f));
  const sum = (files: string[]) => Math.round(files.reduce((kb, f) => kb + gzipKb(f), 0) * 10) / 10;

  const sizes = {
    firstPageKb: sum(firstPage),
    allScriptsKb: sum(assets.filter((f) => f.endsWith('.js'))),
    allStylesKb: sum(assets.filter((f) => f.endsWith('.css'))),
  };
  console.log(`bundle (gzip): ${JSON.stringify(sizes)}; budget ${JSON.stringify(BUDGET)}`);
  for (const key of Object.keys(BUDGET) as (keyof typeof BUDGET)[]) {
    assert.ok(sizes[key] <= BUDGET[key], `${key}: ${sizes[key]} KB over the budget of ${BUDGET[key]} KB`);
  }
});

test('the page runs no inline script (the CSP would refuse it)', () => {
  const html = readFileSync(join(BUILD_DIR, 'index.html'), 'utf8');
  for (const [, attributes, body] of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(attributes!, /\bsrc="\/assets\//, 'every script is a file of this origin');
    assert.equal(body!.trim(), '', 'no inline code');
  }
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
});
