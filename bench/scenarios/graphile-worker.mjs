// The graphile-worker baseline's worker (see lib/baseline-worker.mjs): one runner with its
// local queue; it learns of new jobs by LISTEN/NOTIFY, polling only as a fallback.
import { run } from 'graphile-worker';
import { countingWorker, trivialWork } from '../lib/baseline-worker.mjs';

const [url, concurrency, localQueueSize] = process.argv.slice(2);
let runner;
const counter = countingWorker({ close: () => runner.stop() });
runner = await run({
  connectionString: url,
  concurrency: Number(concurrency),
  noHandleSignals: true,
  pollInterval: 500,
  taskList: {
    log: async (payload, helpers) => {
      counter.started(payload.t);
      trivialWork(helpers.job.id, payload);
    },
  },
  preset: { worker: { localQueue: { size: Number(localQueueSize) }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
});
runner.events.on('job:success', () => counter.completed());
runner.events.on('job:failed', () => counter.failed());
counter.ready();
