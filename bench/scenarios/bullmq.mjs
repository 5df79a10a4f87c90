// Baseline: BullMQ on Redis, the job runner a Node user would otherwise pick. Submitters in
// the bench process (50 lanes, each awaiting queue.add), the worker in a child process.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { ensureRedis } from '../lib/infra.mjs';
import { cpuPerRun, cpuSnapshot } from '../lib/throughput.mjs';
import { lanes, pacedCalls } from '../lib/load.mjs';
import { bullmqConnection } from '../lib/redis-connection.mjs';
import { childEnv, NodeProcess } from '../lib/processes.mjs';
import { round, summarize } from '../lib/stats.mjs';

const JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true };

/** Resolves with the next IPC message for which `pick` is true. */
function nextMessage(child, pick) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (!pick(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`BullMQ worker exited (${code}) early`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function bullmq(ctx) {
  const { opts } = ctx;
  const redis = await ensureRedis(ctx.cleanups, ctx.log);
  const connection = bullmqConnection(redis.host, redis.port);
  const name = `wf-bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  const worker = new NodeProcess('bullmq-worker', {
    script: join(ctx.here, 'scenarios', 'bullmq-worker.mjs'),
    args: [name, redis.host, String(redis.port), '50'],
    env: childEnv({}),
    logFile: join(ctx.logDir, 'bullmq-worker.log'),
    ipc: true,
  }).start();
  const child = worker.child;
  try {
    await nextMessage(child, (m) => m.ready);
    /** Submits `runs` jobs (fewer if `maxSeconds` runs out) and waits until the worker finished them all. */
    const phase = async (runs, maxSeconds) => {
      const enqueue = [];
      const t0 = Date.now();
      const deadline = t0 + maxSeconds * 1000;
      let submitted = 0;
      const done = nextMessage(child, (m) => m.done);
      child.send({ reset: true });
      await lanes(opts.clients, runs, async (i) => {
        if (Date.now() >= deadline) return;
        const s = performance.now();
        await queue.add('log', { i }, JOB_OPTIONS);
        enqueue.push(performance.now() - s);
        submitted += 1;
      });
      const tSubmitted = Date.now();
      child.send({ expect: submitted });
      const r = await done;
      return { t0, tSubmitted, enqueue, submitted, ...r };
    };
    ctx.loadRss.reset();
    await phase(opts.warmup, opts.maxSeconds / 2); // JIT, connections, Lua scripts loaded
    const target = { cpuSeconds: () => ({ 'bullmq-worker': worker.cpuSeconds() }) };
    const cpuBefore = cpuSnapshot(target);
    const r = await phase(opts.runs, opts.maxSeconds);
    const cpuMsPerRun = cpuPerRun(cpuBefore, cpuSnapshot(target), r.completed);
    const seconds = (r.lastCompletion - r.t0) / 1000;

    // Paced: queue.add latency at the same fixed arrival rate as our trigger endpoint.
    const pacedDone = nextMessage(child, (m) => m.done);
    child.send({ reset: true });
    const paced = await pacedCalls({ rate: opts.rate, seconds: opts.pacedSeconds }, async () => {
      await queue.add('log', { paced: true }, JOB_OPTIONS);
      return 'accepted';
    });
    child.send({ expect: paced.outcomes.accepted ?? 0 });
    await pacedDone;
    const workerMemory = worker.memory();
    child.send({ stop: true });
    const stopped = await nextMessage(child, (m) => m.stopped).catch(() => ({}));
    return {
      worker: 'separate process (like runner-svc), concurrency 50',
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
        'bullmq-worker': stopped.peakRssMiB ?? r.peakRssMiB,
      },
      vmHwmMiB: { 'bullmq-worker': workerMemory.peakMiB },
    };
  } finally {
    await worker.stop(5_000);
    await queue.obliterate({ force: true }).catch((err) => ctx.log(`obliterate ${name}: ${err.message}`));
    await queue.close();
    if (typeof connection.quit === 'function') await connection.quit();
  }
}
