// The worker side of a queue baseline (BullMQ, pg-boss, graphile-worker), each in its own
// process as our runner-svc is. The job is trivial: a string built like a `log` action's,
// no I/O. Talks to the bench over IPC: {ready} once connected; {reset} starts a phase,
// {expect: n} says n jobs were submitted, and it answers {done} with its figures once n
// have finished; {stop} closes the queue library and answers {stopped}.
import { startRssSampler } from './rss.mjs';

/** The work every baseline does per job: what our `log` action does with its message. */
export const trivialWork = (id, data) => `run ${id}: ${JSON.stringify(data)}`;

/**
 * Counts a phase's jobs and answers the bench. `close()` stops the library's worker.
 * Returns the hooks the library's callbacks call.
 */
export function countingWorker({ close }) {
  const rss = startRssSampler(100);
  let expected = Infinity;
  let completed = 0;
  let failed = 0;
  let startLatencies = [];
  let lastCompletion = 0;

  const check = () => {
    if (completed + failed < expected) return;
    process.send({ done: true, lastCompletion, completed, failed, startLatencies, peakRssMiB: rss.peakMiB() });
    expected = Infinity;
  };

  process.on('message', async (m) => {
    if (m.reset) {
      expected = Infinity;
      completed = 0;
      failed = 0;
      startLatencies = [];
    } else if (m.expect !== undefined) {
      expected = m.expect;
      check();
    } else if (m.stop) {
      await close();
      process.send({ stopped: true, peakRssMiB: rss.peakMiB() });
      process.disconnect();
    }
  });

  return {
    /** A job began; `submittedAt` is when the bench created it (ms since the epoch). */
    started(submittedAt) {
      startLatencies.push(Date.now() - submittedAt);
    },
    completed(n = 1) {
      completed += n;
      lastCompletion = Date.now();
      check();
    },
    failed(n = 1) {
      failed += n;
      lastCompletion = Date.now();
      check();
    },
    ready() {
      process.send({ ready: true });
    },
  };
}
