import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommonEnvSchema, ConfigError, loadConfig, UnavailableError } from '../src/index.js';
import { Availability, Backoff, Metrics, StartupGate, StartupTimeoutError, waitUntilReachable } from '../src/ops/index.js';
import { capturedLogger, FakeClock } from '../src/testing/index.js';

const sample = async (metrics: Metrics, name: string) => (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];

describe('Availability', () => {
  it('logs one line when the store goes away and one when it returns, however many failures in between, and counts the outage', async () => {
    const { logger, lines } = capturedLogger();
    const metrics = new Metrics({ defaultMetrics: false });
    const clock = new FakeClock();
    const store = new Availability({ dependency: 'store', logger, metrics, now: () => clock.now().getTime() });

    assert.equal(store.failed(new Error('a bug')), false, 'any other error is the caller\'s to report');
    for (let i = 0; i < 50; i++) assert.equal(store.failed(new UnavailableError('the database is unreachable')), true);
    assert.equal(store.available, false);
    clock.advance(12_000);
    store.succeeded();
    store.succeeded();
    assert.equal(store.available, true);

    const logged = lines.filter((l) => l.dependency === 'store');
    assert.deepEqual(
      logged.map((l) => [l.level, l.msg]),
      [
        ['warn', 'the store is unreachable; work pauses until it answers again'],
        ['info', 'the store answers again; work resumes'],
      ],
    );
    assert.equal(logged[1]?.downForMs, 12_000);
    assert.deepEqual((await sample(metrics, 'wf_dependency_outages_total')).map((v) => [v.labels.dependency, v.value]), [['store', 1]]);
    assert.deepEqual((await sample(metrics, 'wf_dependency_up')).map((v) => v.value), [1]);
  });

  it('backs off between tries, doubling up to the maximum, and starts over after a success', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 0);
    assert.deepEqual(Array.from({ length: 6 }, () => backoff.next()), [100, 200, 400, 800, 1_000, 1_000]);
    backoff.reset();
    assert.equal(backoff.next(), 100);
    const jittered = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 1);
    assert.equal(jittered.next(), 80, 'jitter shortens a pause by at most a fifth');
  });
});

describe('start-up', () => {
  const fast = { initialMs: 5, maxMs: 20 };

  it('waits while the store is unreachable, says so once, and goes on when it answers', async () => {
    const { logger, lines } = capturedLogger();
    const gate = new StartupGate();
    let calls = 0;
    const result = await waitUntilReachable(
      'the store',
      async () => {
        calls += 1;
        if (calls < 5) throw new UnavailableError('connect ECONNREFUSED');
        return 'migrated';
      },
      { logger, gate, deadline: Date.now() + 60_000, backoff: fast },
    );
    assert.equal(result, 'migrated');
    assert.equal(calls, 5);
    assert.deepEqual(lines.map((l) => l.msg), ['the store does not answer; waiting for it', 'the store answers; start-up continues']);
    await assert.rejects(gate.check(), /waiting for the store/, '/readyz says what start-up waits for');
    gate.open();
    await gate.check();
  });

  it('gives up at the deadline, naming what did not answer and why', async () => {
    const { logger } = capturedLogger();
    const attempt = () => Promise.reject(new UnavailableError('connect ECONNREFUSED 127.0.0.1:5432'));
    const err = await waitUntilReachable('the broker', attempt, { logger, deadline: Date.now() + 100, backoff: fast }).catch((e: unknown) => e);
    assert.ok(err instanceof StartupTimeoutError);
    assert.match(err.message, /^the broker did not answer within STARTUP_TIMEOUT \(0s\): connect ECONNREFUSED 127\.0\.0\.1:5432$/);
  });

  it('does not wait for what waiting cannot fix', async () => {
    const { logger } = capturedLogger();
    let calls = 0;
    const wrongPassword = Object.assign(new Error('password authentication failed'), { code: '28P01' });
    const attempt = async () => {
      calls += 1;
      throw wrongPassword;
    };
    await assert.rejects(waitUntilReachable('the store', attempt, { logger, deadline: Date.now() + 60_000, backoff: fast }), (e) => e === wrongPassword);
    assert.equal(calls, 1);
  });

  it('STARTUP_TIMEOUT is a validated duration, 5 minutes by default', () => {
    assert.equal(loadConfig(CommonEnvSchema, {}).STARTUP_TIMEOUT, 300_000);
    assert.equal(loadConfig(CommonEnvSchema, { STARTUP_TIMEOUT: '90s' }).STARTUP_TIMEOUT, 90_000);
    for (const bad of ['0', 'forever', '10', '-5m']) {
      assert.throws(
        () => loadConfig(CommonEnvSchema, { STARTUP_TIMEOUT: bad }),
        (e) => e instanceof ConfigError && e.variables.join() === 'STARTUP_TIMEOUT' && /must be like "30s", "15m", "1h"/.test(e.message),
        bad,
      );
    }
  });
});
