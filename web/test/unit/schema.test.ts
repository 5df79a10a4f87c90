import { openApiDocument } from '@wf/workflows-svc';
import { describe, expect, it } from 'vitest';
import { defaultAt, enumAt, serverFieldErrors, validatorFor, variantsAt } from '../../src/api/schema';

// The document the API publishes, from the service itself: the rules are its, not restated here.
const openApi = openApiDocument();
const validate = validatorFor(openApi, 'CreateWorkflow');

describe('validation against the published schema', () => {
  it('accepts a valid definition', () => {
    expect(validate({ workflowId: 'ok', trigger: { type: 'manual' }, actions: [{ type: 'log', message: 'hi' }] })).toEqual({});
  });

  it('accepts a filter step and the settings any step may carry', () => {
    const actions = [
      { type: 'filter', when: { '>': [{ var: 'trigger.payload.amount' }, 100] } },
      { type: 'http-request', method: 'POST', url: 'https://x.test/', timeoutMs: 500, continueOnError: true, retry: { maxRetries: 1, baseDelayMs: 100, maxDelayMs: 100 }, if: { '!!': [1] }, idempotencyKey: false },
      { type: 'log', message: 'hi', if: true },
      { type: 'delay', duration: '15m' },
      { type: 'delay', until: '{{trigger.payload.sendAt}}' },
    ];
    expect(validate({ workflowId: 'ok', trigger: { type: 'manual' }, actions })).toEqual({});
  });

  it('names each bad field, in the variant the value chose', () => {
    const errors = validate({
      workflowId: 'bad id',
      trigger: { type: 'periodic', interval: 'ten seconds' },
      actions: [{ type: 'http-request', method: 'GET', url: '', timeoutMs: 0 }, { type: 'log' }],
      surprise: 1,
    });
    expect(Object.keys(errors).sort()).toEqual(['actions.0.timeoutMs', 'actions.0.url', 'actions.1.message', 'surprise', 'trigger.interval', 'workflowId']);
    expect(errors['actions.1.message']).toBe('is required');
    expect(errors['actions.0.url']).toBe('is required');
    expect(errors['actions.0.timeoutMs']).toBe('must be at least 1');
  });

  it('needs at least one action', () => {
    expect(validate({ workflowId: 'w', trigger: { type: 'manual' }, actions: [] })).toEqual({ actions: 'needs at least 1' });
  });

  it("reads the form's choices and defaults from the document", () => {
    expect(variantsAt(openApi, 'CreateWorkflow', ['trigger'])).toEqual(['periodic', 'cron', 'manual', 'webhook']);
    expect(variantsAt(openApi, 'CreateWorkflow', ['actions'])).toEqual(['log', 'http-request', 'filter', 'delay']);
    expect(enumAt(openApi, 'CreateWorkflow', ['actions', 'type=http-request', 'method'])).toContain('PATCH');
    expect(enumAt(openApi, 'CreateWorkflow', ['actions', 'type=log', 'level'])).toEqual(['debug', 'info', 'warn', 'error']);
    expect(defaultAt(openApi, 'CreateWorkflow', ['retryPolicy', 'maxRetries'])).toBe('3');
  });

  it("puts the server's 400 details on their fields", () => {
    expect(serverFieldErrors([{ path: 'actions.0.url', message: 'must be an http(s) URL' }, { path: 'actions.0.url', message: 'second' }, { nope: 1 }])).toEqual({
      'actions.0.url': 'must be an http(s) URL',
    });
    expect(serverFieldErrors(undefined)).toEqual({});
  });
});
