import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it, mock } from 'node:test';
import { createLogger } from '@wf/shared';
import { lazyChild } from '../src/worker/lazy-logger.js';

/** A warn-level logger whose lines the test reads. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'warn', service: 'test', destination });
  const child = mock.method(logger, 'child');
  return { logger, lines, children: () => child.mock.callCount() };
}

describe('lazyChild', () => {
  it('makes no child for lines below the level, and logs with every binding above it', async () => {
    const { logger, lines, children } = capture();
    const run = lazyChild(logger, { executionId: 'e1' });
    const step = lazyChild(run, { step: 0 });
    run.info('started');
    step.debug({ detail: 1 }, 'step detail');
    assert.equal(children(), 0, 'nothing logged: no child made');
    assert.equal(run.isLevelEnabled('info'), false);

    step.warn({ error: 'boom' }, 'step failed');
    run.error('gave up');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      lines.map(({ msg, executionId, step: index, error }) => ({ msg, executionId, step: index, error })),
      [
        { msg: 'step failed', executionId: 'e1', step: 0, error: 'boom' },
        { msg: 'gave up', executionId: 'e1', step: undefined, error: undefined },
      ],
    );
    assert.equal(children(), 2, 'the run\'s child made once, and the step\'s from it');
  });
});
