import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InProcessBroker } from '../src/adapters/inprocess/broker.js';
import { createInProcessBus } from '../src/adapters/inprocess/index.js';
import { createLogger, silentLogger } from '../src/logger.js';
import { describeBusContract } from './bus-contract.js';

const logger = process.env.LOG_LEVEL ? createLogger({ level: process.env.LOG_LEVEL, service: 'test' }) : silentLogger;

describeBusContract(
  'in-process',
  async () => {
    const bus = createInProcessBus({ logger });
    return {
      bus,
      readRaw: async (topic) => bus.records(topic).map((r) => ({ ...r, value: r.value.toString() })),
      close: () => bus.close(),
    };
  },
  { waitMs: 5_000 },
);

describe('in-process consumer group', () => {
  const message = { key: 'k', value: '{}', headers: {} };

  it('keeps a partition with the member handling it until released, then reassigns it', () => {
    const broker = new InProcessBroker(3);
    broker.partitions('t')[1]!.push(message, message);
    const group = broker.group('g');
    const [one, two] = [{ topics: ['t'] }, { topics: ['t'] }];
    group.join(one);
    const held = group.claim(one, 10, 0);
    assert.ok('partition' in held && held.partition === 1, 'the only member owns every partition');
    assert.deepEqual(held.messages.map((m) => m.offset), [0, 1]);

    group.join(two); // round-robin: one keeps 0 and 2, partition 1 moves to two
    assert.deepEqual(group.claim(two, 10, 0), { waitMs: undefined }, 'partition 1 is still in hand');
    held.state.committed = 1; // one acknowledged the first message, then gave the partition back
    group.release(held.state);
    const taken = group.claim(two, 10, 0);
    assert.ok('partition' in taken && taken.partition === 1, 'released, partition 1 goes to its new owner');
    assert.deepEqual(taken.messages.map((m) => m.offset), [1], 'from the committed offset');
    assert.deepEqual(group.claim(one, 10, 0), { waitMs: undefined }, 'the old owner no longer gets it');
  });

  it('holds back a partition that is backing off, and says for how long', () => {
    const broker = new InProcessBroker(1);
    broker.partitions('t')[0]!.push(message);
    const group = broker.group('g');
    const member = { topics: ['t'] };
    group.join(member);
    const held = group.claim(member, 10, 1_000);
    assert.ok('state' in held);
    held.state.retryAt = 1_250;
    group.release(held.state);
    assert.deepEqual(group.claim(member, 10, 1_000), { waitMs: 250 });
    assert.ok('partition' in group.claim(member, 10, 1_250), 'due again once the backoff has passed');
  });
});
