// The pg-boss baseline's worker (see lib/baseline-worker.mjs): `loops` work loops, each
// fetching up to `batch` jobs per poll and completing them together when its handler returns.
import PgBoss from 'pg-boss';
import { countingWorker, trivialWork } from '../lib/baseline-worker.mjs';

const [url, queue, loops, batch] = process.argv.slice(2);
const boss = new PgBoss({ connectionString: url, schedule: false });
boss.on('error', (err) => console.error(JSON.stringify({ msg: 'pg-boss error', err: err.message })));
const counter = countingWorker({ close: () => boss.stop({ graceful: true, wait: true }) });
await boss.start();
for (let i = 0; i < Number(loops); i++) {
  await boss.work(queue, { batchSize: Number(batch), pollingIntervalSeconds: 0.5 }, async (jobs) => {
    for (const job of jobs) {
      counter.started(job.data.t);
      trivialWork(job.id, job.data);
    }
    counter.completed(jobs.length);
  });
}
counter.ready();
