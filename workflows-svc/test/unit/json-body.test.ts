import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '@wf/shared';
import { MAX_JSON_DEPTH, assertSafeJson } from '../../src/http/middleware/json-body.js';

const issuePath = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return (err.details as Array<{ path: string }>)[0]?.path;
  }
  assert.fail('expected a ValidationError');
};

test('ordinary JSON passes', () => {
  assert.doesNotThrow(() => assertSafeJson({ a: [1, { b: null, c: 'constructor' }], d: { e: true } }));
  assert.doesNotThrow(() => assertSafeJson(undefined));
});

test('prototype-pollution keys are refused at any depth, naming where', () => {
  assert.equal(issuePath(() => assertSafeJson(JSON.parse('{"__proto__":{"admin":true}}'))), '__proto__');
  assert.equal(issuePath(() => assertSafeJson({ actions: [{ body: { constructor: { prototype: {} } } }] })), 'actions.0.body.constructor');
  assert.equal(issuePath(() => assertSafeJson([{ a: { prototype: 1 } }])), '0.a.prototype');
});

test('nesting is capped, and a deep body cannot overflow the stack of the check itself', () => {
  const nest = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;
  assert.doesNotThrow(() => assertSafeJson(nest(MAX_JSON_DEPTH)));
  assert.throws(() => assertSafeJson(nest(MAX_JSON_DEPTH + 1)), ValidationError);
  assert.throws(() => assertSafeJson(nest(100_000)), ValidationError);
});
