import { describe, expect, it } from 'vitest';
import { emptyForm, emptyHttp, fromDefinition, move, toDefinition } from '../../src/lib/definition';

const definition = {
  workflowId: 'nightly-report',
  name: 'Nightly report',
  enabled: false,
  trigger: { type: 'cron', cron: '0 2 * * *', timezone: 'Europe/Paris', catchUp: 'latest' },
  actions: [
    { type: 'log', message: 'starting {{workflow.id}}', level: 'warn' },
    { type: 'filter', when: { '>': [{ var: 'trigger.payload.amount' }, 100] } },
    { type: 'delay', duration: '15m' },
    {
      type: 'http-request', method: 'POST', url: 'https://api.example.com/r/{{trigger.payload.id}}', headers: { 'x-api-key': 'k' }, body: { n: [1, 2], ok: true }, timeoutMs: 5000,
      // Fields the form has no input for are kept as they are.
      continueOnError: true, retry: { maxRetries: 1, baseDelayMs: 100, maxDelayMs: 100 }, if: { '==': [{ var: 'trigger.type' }, 'manual'] }, idempotencyKey: false,
    },
  ],
  retryPolicy: { maxRetries: 5, baseDelayMs: 500, maxDelayMs: 30000 },
} as const;

describe('form ↔ JSON', () => {
  it('a definition goes to the form and back unchanged', () => {
    const { definition: back, errors } = toDefinition(fromDefinition(definition as never));
    expect(errors).toEqual({});
    expect(back).toEqual(definition);
  });

  it('the form goes to JSON and back unchanged (but for the list keys)', () => {
    const form = fromDefinition(definition as never);
    const again = fromDefinition(toDefinition(form).definition as never);
    const withoutKeys = (f: typeof form) => ({ ...f, actions: f.actions.map(({ key: _key, ...a }) => a) });
    expect(withoutKeys(again)).toEqual(withoutKeys(form));
  });

  it('leaves out what is empty, so the API applies its defaults', () => {
    const form = emptyForm();
    form.workflowId = ' hello ';
    form.actions = [{ ...form.actions[0]!, type: 'log', message: 'hi', level: '' }];
    expect(toDefinition(form).definition).toEqual({ workflowId: 'hello', enabled: true, trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'hi' }] });
  });

  it('keeps catchUp on a scheduled trigger, and leaves it out when not chosen (the API defaults it to none)', () => {
    const form = fromDefinition({ ...definition, trigger: { type: 'periodic', interval: '1h', catchUp: 'none' } } as never);
    expect(toDefinition(form).definition.trigger).toEqual({ type: 'periodic', interval: '1h', catchUp: 'none' });
    form.trigger.catchUp = '';
    expect(toDefinition(form).definition.trigger).toEqual({ type: 'periodic', interval: '1h' });
    form.trigger.type = 'manual';
    form.trigger.catchUp = 'latest';
    expect(toDefinition(form).definition.trigger).toEqual({ type: 'manual' });
  });

  it('passes numbers as numbers and anything else as typed, for the schema to judge', () => {
    const form = emptyForm();
    form.retry = { maxRetries: '3', baseDelayMs: 'soon', maxDelayMs: '' };
    expect(toDefinition(form).definition.retryPolicy).toEqual({ maxRetries: 3, baseDelayMs: 'soon' });
  });

  it('names a body that is not JSON on its field', () => {
    const form = emptyForm();
    form.actions = [{ ...emptyHttp(), url: 'https://x.example', body: '{oops' }];
    expect(toDefinition(form).errors).toEqual({ 'actions.0.body': 'must be valid JSON' });
  });

  it('reorders actions', () => {
    expect(move(['a', 'b', 'c'], 0, 2)).toEqual(['b', 'c', 'a']);
    expect(move(['a', 'b', 'c'], 2, 1)).toEqual(['a', 'c', 'b']);
    expect(move(['a', 'b'], 0, -1)).toEqual(['a', 'b']);
  });
});
