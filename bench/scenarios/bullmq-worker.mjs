// The BullMQ baseline's worker, in its own process like our runner-svc: concurrency 50,
// trivial work equivalent to a `log` action (builds a short string, no I/O). Talks to the
// bench over IPC: {ready} once connected; {reset} starts a phase, {expect: n} says n jobs were
// added, and it answers {done} with its figures once n have finished.
import { Worker } from 'bullmq';
import { bullmqConnection } from '../lib/redis-connection.mjs';
import { startRssSampler } from '../lib/rss.mjs';

const [queueName, host, port, concurrency] = process.argv.slice(2);
const connection = bullmqConnection(host, Number(port));
const rss = startRssSampler(100);
let expected = Infinity;
let completed = 0;
let failed = 0;
let startLatencies = [];
let lastCompletion = 0;

const worker = new Worker(
  queueName,
  async (job) => {
    startLatencies.push(Date.now() - job.timestamp); // job.timestamp: when queue.add created it
    return `run ${job.id} of ${job.name}: ${JSON.stringify(job.data)}`;
  },
  { connection, concurrency: Number(concurrency) },
);
const check = () => {
  if (completed + failed >= expected) {
    process.send({ done: true, lastCompletion, completed, failed, startLatencies, peakRssMiB: rss.peakMiB() });
    expected = Infinity;
  }
};
worker.on('completed', () => {
  completed += 1;
  lastCompletion = Date.now();
  check();
});
worker.on('failed', () => {
  failed += 1;
  lastCompletion = Date.now();
  check();
});

process.on('message', async (m) => {
  if (m.reset) {
    // A new phase: count from zero.
    expected = Infinity;
    completed = 0;
    failed = 0;
    startLatencies = [];
  } else if (m.expect !== undefined) {
    // Every job of the phase was added: report once this many have finished.
    expected = m.expect;
    check();
  } else if (m.stop) {
    await worker.close();
    if (typeof connection.quit === 'function') await connection.quit(); // a shared instance is ours to close
    process.send({ stopped: true, peakRssMiB: rss.peakMiB() });
    process.disconnect();
  }
});

await worker.waitUntilReady();
process.send({ ready: true });
