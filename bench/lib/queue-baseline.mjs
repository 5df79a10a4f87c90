// The bench side of a queue baseline (BullMQ, pg-boss, graphile-worker): 50 submitters in
// the bench process, each awaiting its library's "add a job" call, and the library's worker
// in a child process (lib/baseline-worker.mjs), measured exactly as our durable stack is:
// an untimed warm-up, a timed closed-loop phase, then a paced phase at a fixed rate.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuPerRun, cpuSnapshot } from './throughput.mjs';
import { lanes, pacedCalls } from './load.mjs';
import { childEnv, NodeProcess } from './processes.mjs';
import { round, summarize } from './stats.mjs';

/** Resolves with the next IPC message for which `pick` is true. */
function nextMessage(child, name, pick) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (!pick(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`${name} exited (${code}) early`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * @param ctx       the bench context
 * @param o.name    the worker process's label, e.g. 'pgboss-worker'
 * @param o.script  the worker's file under bench/scenarios
 * @param o.args    its arguments
 * @param o.submit  `async (data) => void`: adds one job carrying `data` (which holds `t`, the submit time)
 * @param o.settled optional `async (phase) => { lastCompletion? }`: called once the worker
 *                  reported every job of a phase; lets a library whose completion is a
 *                  later write (pg-boss) report when the last one was recorded
 * @param o.worker  how the worker is set up, for the report
 */
export async function runQueueBaseline(ctx, o) {
  const { opts } = ctx;
  const worker = new NodeProcess(o.name, {
    script: join(ctx.here, 'scenarios', o.script),
    args: o.args,
    env: childEnv({}),
    logFile: join(ctx.logDir, `${o.name}.log`),
    ipc: true,
  }).start();
  const child = worker.child;
  try {
    await nextMessage(child, o.name, (m) => m.ready);
    /** Submits `runs` jobs (fewer if `maxSeconds` runs out) and waits until the worker finished them all. */
    const phase = async (runs, maxSeconds) => {
      const enqueue = [];
      const t0 = Date.now();
      const deadline = t0 + maxSeconds * 1000;
      let submitted = 0;
      const done = nextMessage(child, o.name, (m) => m.done);
      child.send({ reset: true });
      await lanes(opts.clients, runs, async (i) => {
        if (Date.now() >= deadline) return;
        const s = performance.now();
        await o.submit({ i, t: Date.now() });
        enqueue.push(performance.now() - s);
        submitted += 1;
      });
      const tSubmitted = Date.now();
      child.send({ expect: submitted });
      const r = await done;
      const settled = (await o.settled?.({ submitted })) ?? {};
      return { t0, tSubmitted, enqueue, submitted, ...r, lastCompletion: Math.max(r.lastCompletion, settled.lastCompletion ?? 0) };
    };
    ctx.loadRss.reset();
    await phase(opts.warmup, opts.maxSeconds / 2); // JIT, connections, prepared statements
    const target = { cpuSeconds: () => ({ [o.name]: worker.cpuSeconds() }) };
    const cpuBefore = cpuSnapshot(target);
    const r = await phase(opts.runs, opts.maxSeconds);
    const cpuMsPerRun = cpuPerRun(cpuBefore, cpuSnapshot(target), r.completed);
    const seconds = (r.lastCompletion - r.t0) / 1000;

    // Paced: the add latency at the same fixed arrival rate as our trigger endpoint.
    const pacedDone = nextMessage(child, o.name, (m) => m.done);
    child.send({ reset: true });
    const paced = await pacedCalls({ rate: opts.rate, seconds: opts.pacedSeconds }, async () => {
      await o.submit({ paced: true, t: Date.now() });
      return 'accepted';
    });
    child.send({ expect: paced.outcomes.accepted ?? 0 });
    await pacedDone;
    const workerMemory = worker.memory();
    child.send({ stop: true });
    const stopped = await nextMessage(child, o.name, (m) => m.stopped).catch(() => ({}));
    return {
      worker: o.worker,
      runs: r.submitted,
      cpuMsPerRun,
      cappedAtSeconds: r.submitted < opts.runs ? opts.maxSeconds : undefined,
      completed: r.completed,
      failed: r.failed,
      seconds: round(seconds, 2),
      runsPerSec: round(r.completed / seconds),
      submitPerSec: round((r.submitted / (r.tSubmitted - r.t0)) * 1000),
      triggerMs: summarize(r.enqueue, 2),
      startMs: summarize(r.startLatencies),
      paced: {
        rate: opts.rate,
        seconds: opts.pacedSeconds,
        achievedRate: round(paced.achievedRate),
        outcomes: paced.outcomes,
        dropped: paced.dropped,
        triggerMs: summarize(paced.latencies, 2),
      },
      peakRssMiB: {
        'submitter (bench process)': ctx.loadRss.peakMiB(),
        [o.name]: stopped.peakRssMiB ?? r.peakRssMiB,
      },
      vmHwmMiB: { [o.name]: workerMemory.peakMiB },
    };
  } finally {
    await worker.stop(5_000);
  }
}
