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
    broker.partitions('t')[1]!.messages.push(message, message);
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
    broker.partitions('t')[0]!.messages.push(message);
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

  it('keeps the last messages a log retains, never one a group has not acknowledged, and a late group reads from the oldest kept', () => {
    const broker = new InProcessBroker(1, 3);
    const group = broker.group('g');
    const member = { topics: ['t'] };
    group.join(member);
    const send = (n: number) => {
      for (let i = 0; i < n; i++) broker.append('t', { key: 'k', value: String(i), headers: {} });
    };
    const log = broker.partitions('t')[0]!;
    send(2);
    const first = group.claim(member, 10, 0);
    assert.ok('state' in first);
    first.state.committed = 1; // acknowledged offset 0 only
    group.release(first.state);
    send(10);
    assert.equal(log.base, 1, 'trimmed up to the group\'s committed offset, not past it');
    assert.equal(log.end, 12);

    const all = group.claim(member, 100, 0);
    assert.ok('state' in all);
    assert.deepEqual(all.messages.map((m) => m.offset), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'nothing unacknowledged was lost');
    all.state.committed = 12;
    group.release(all.state);
    send(6);
    assert.deepEqual([log.base, log.end], [12, 18], 'what the group has not read yet stays');

    const rest = group.claim(member, 100, 0);
    assert.ok('state' in rest);
    rest.state.committed = 18;
    group.release(rest.state);
    send(1); // everything read: trimmed to the last 3
    assert.deepEqual([log.base, log.end], [16, 19]);
    assert.deepEqual(broker.records('t').map((r) => r.offset), [16, 17, 18]);

    const late = broker.group('late');
    const newcomer = { topics: ['t'] };
    late.join(newcomer);
    const read = late.claim(newcomer, 100, 0);
    assert.ok('state' in read);
    assert.deepEqual(read.messages.map((m) => m.offset), [16, 17, 18], 'a late group starts at the oldest message kept');
  });
});
