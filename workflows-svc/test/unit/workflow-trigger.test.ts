import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredTrigger } from '@wf/shared';
import { hashHookSecret } from '../../src/app/hook-secrets.js';
import { buildTrigger, triggerSpecOf } from '../../src/app/workflow-trigger.js';

const now = new Date('2026-02-01T10:00:07.000Z');
const earlier = new Date('2026-02-01T09:00:00.000Z');

describe('buildTrigger on create', () => {
  test('periodic: idle, next run one interval from now', () => {
    const { trigger, hookSecret } = buildTrigger({ type: 'periodic', interval: '10s' }, undefined, now);
    assert.deepEqual(trigger, { type: 'periodic', interval: '10s', status: 'idle', nextRunAt: new Date('2026-02-01T10:00:17.000Z') });
    assert.equal(hookSecret, undefined);
  });

  test('cron: the next matching time, in the given time zone', () => {
    const utc = buildTrigger({ type: 'cron', cron: '0 12 * * *' }, undefined, now).trigger;
    assert.equal(utc.nextRunAt?.toISOString(), '2026-02-01T12:00:00.000Z');
    const paris = buildTrigger({ type: 'cron', cron: '0 12 * * *', timezone: 'Europe/Paris' }, undefined, now).trigger;
    assert.equal(paris.nextRunAt?.toISOString(), '2026-02-01T11:00:00.000Z');
  });

  test('manual: no schedule', () => {
    assert.deepEqual(buildTrigger({ type: 'manual' }, undefined, now).trigger, { type: 'manual', status: 'idle' });
  });

  test('webhook: a new hook whose secret is returned once and stored only as its SHA-256', () => {
    const { trigger, hookSecret } = buildTrigger({ type: 'webhook' }, undefined, now);
    assert.ok(hookSecret && hookSecret.length >= 40);
    assert.ok(trigger.hookId && trigger.hookId.length >= 20);
    assert.equal(trigger.secretHash, hashHookSecret(hookSecret));
    assert.notEqual(trigger.secretHash, hookSecret);
  });
});

describe('buildTrigger on update', () => {
  const periodic: StoredTrigger = {
    type: 'periodic',
    interval: '10s',
    status: 'busy',
    nextRunAt: earlier,
    leaseUntil: new Date('2026-02-01T09:00:30.000Z'),
  };

  test('an unchanged spec keeps status, next run and the scheduler’s lease', () => {
    assert.deepEqual(buildTrigger({ type: 'periodic', interval: '10s' }, periodic, now).trigger, periodic);
  });

  test('a changed spec keeps the status and recomputes the next run from now', () => {
    const { trigger } = buildTrigger({ type: 'periodic', interval: '1m' }, periodic, now);
    assert.deepEqual(trigger, { type: 'periodic', interval: '1m', status: 'busy', nextRunAt: new Date('2026-02-01T10:01:07.000Z') });
  });

  test('leaving a schedule drops next run and lease', () => {
    assert.deepEqual(buildTrigger({ type: 'manual' }, periodic, now).trigger, { type: 'manual', status: 'busy' });
  });

  test('a webhook that stays one keeps its hook and shows no secret', () => {
    const hook: StoredTrigger = { type: 'webhook', status: 'idle', hookId: 'h1', secretHash: 'ab'.repeat(32) };
    assert.deepEqual(buildTrigger({ type: 'webhook' }, hook, now), { trigger: hook });
  });

  test('becoming a webhook creates a hook; leaving it drops the hook', () => {
    const made = buildTrigger({ type: 'webhook' }, periodic, now);
    assert.ok(made.hookSecret);
    assert.equal(made.trigger.nextRunAt, undefined);
    assert.equal(made.trigger.secretHash, hashHookSecret(made.hookSecret));
    const dropped = buildTrigger({ type: 'manual' }, made.trigger, now).trigger;
    assert.deepEqual(dropped, { type: 'manual', status: 'busy' });
  });
});

test('triggerSpecOf strips everything the system keeps', () => {
  const stored: StoredTrigger = { type: 'cron', cron: '* * * * *', timezone: 'UTC', status: 'pending', nextRunAt: now, leaseUntil: now };
  assert.deepEqual(triggerSpecOf(stored), { type: 'cron', cron: '* * * * *', timezone: 'UTC' });
});
