// Baseline: BullMQ on Redis, the job runner a Node user would otherwise pick. Submitters in
// the bench process (50 lanes, each awaiting queue.add), the worker in a child process.
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { ensureRedis } from '../lib/infra.mjs';
import { runQueueBaseline } from '../lib/queue-baseline.mjs';
import { bullmqConnection } from '../lib/redis-connection.mjs';

const JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true };

export async function bullmq(ctx) {
  const redis = await ensureRedis(ctx.cleanups, ctx.log);
  const connection = bullmqConnection(redis.host, redis.port);
  const name = `wf-bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  try {
    return await runQueueBaseline(ctx, {
      name: 'bullmq-worker',
      script: 'bullmq-worker.mjs',
      args: [name, redis.host, String(redis.port), '50'],
      worker: 'separate process (like runner-svc), concurrency 50',
      // job.timestamp is BullMQ's own creation time; the worker measures from it
      submit: (data) => queue.add('log', data, JOB_OPTIONS),
    });
  } finally {
    await queue.obliterate({ force: true }).catch((err) => ctx.log(`obliterate ${name}: ${err.message}`));
    await queue.close();
    if (typeof connection.quit === 'function') await connection.quit();
  }
}
