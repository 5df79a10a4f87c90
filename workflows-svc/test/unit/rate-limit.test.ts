import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slowdownDelayMs } from '../../src/http/middleware/rate-limit.js';

test('login slowdown: nothing before `after` failures, then 250 ms doubling per failure, capped', () => {
  const options = { after: 10, maxDelayMs: 10_000 };
  assert.deepEqual(
    [0, 9, 10, 11, 12, 15, 16, 1_000].map((failures) => slowdownDelayMs(failures, options)),
    [0, 0, 250, 500, 1_000, 8_000, 10_000, 10_000],
  );
});
