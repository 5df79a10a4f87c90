import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderString, renderValue, TemplateError, type TemplateContext } from '../src/index.js';

const context: TemplateContext = {
  trigger: { type: 'webhook', payload: { email: 'ada@example.com', count: 3, tags: ['a', 'b'], nested: { ok: true } } },
  steps: [{ status: 'succeeded', output: { status: 201, body: { id: 'x1' } } }],
  execution: { id: 'exec-1', attempt: 2 },
  workflow: { id: 'wf' },
};

describe('templating', () => {
  it('fills placeholders from the trigger payload, earlier steps, the execution and the workflow', () => {
    assert.equal(renderString('to {{trigger.payload.email}} after {{ steps.0.output.status }}', context), 'to ada@example.com after 201');
    assert.equal(renderString('{{workflow.id}}/{{execution.id}}/{{trigger.type}}', context), 'wf/exec-1/webhook');
    assert.equal(renderString('tag {{trigger.payload.tags.1}}', context), 'tag b');
  });
  it('keeps JSON types for a whole-string placeholder in a body and stringifies embedded ones', () => {
    assert.deepEqual(
      renderValue({ n: '{{trigger.payload.count}}', obj: '{{trigger.payload.nested}}', s: 'n={{trigger.payload.count}}', list: ['{{steps.0.output.body.id}}'], k: 7 }, context),
      { n: 3, obj: { ok: true }, s: 'n=3', list: ['x1'], k: 7 },
    );
  });
  it('fails with the path named when a value is missing, instead of sending "undefined"', () => {
    assert.throws(() => renderString('{{trigger.payload.phone}}', context), (e: unknown) => e instanceof TemplateError && /trigger\.payload\.phone/.test(e.message));
    assert.throws(() => renderString('{{steps.3.output}}', context), TemplateError);
  });
  it('never walks into prototypes', () => {
    assert.throws(() => renderString('{{trigger.__proto__.polluted}}', context), /forbidden/);
    assert.throws(() => renderString('{{trigger.payload.constructor}}', context), /forbidden/);
    assert.throws(() => renderString('{{trigger.payload.toString}}', context), /no value/);
  });
  it('leaves text without placeholders alone', () => {
    assert.equal(renderString('plain {not} {{ }}', context), 'plain {not} {{ }}');
  });
});
