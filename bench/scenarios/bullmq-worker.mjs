// The BullMQ baseline's worker: concurrency 50 on ioredis (see lib/baseline-worker.mjs).
import { Worker } from 'bullmq';
import { countingWorker, trivialWork } from '../lib/baseline-worker.mjs';
import { bullmqConnection } from '../lib/redis-connection.mjs';

const [queueName, host, port, concurrency] = process.argv.slice(2);
const connection = bullmqConnection(host, Number(port));
let worker;
const counter = countingWorker({
  async close() {
    await worker.close();
    if (typeof connection.quit === 'function') await connection.quit(); // a shared instance is ours to close
  },
});
worker = new Worker(
  queueName,
  async (job) => {
    counter.started(job.timestamp); // job.timestamp: when queue.add created it
    return trivialWork(job.id, job.data);
  },
  { connection, concurrency: Number(concurrency) },
);
worker.on('completed', () => counter.completed());
worker.on('failed', () => counter.failed());

await worker.waitUntilReady();
counter.ready();
