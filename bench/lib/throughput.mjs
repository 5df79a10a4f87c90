// The measurement shared by the embedded and durable scenarios, given a way to read the
// store: set-up, warm-up, the timed closed-loop phase, then a paced phase at a fixed rate.
import { closedLoopTriggers, createManualWorkflows, pacedTriggers, waitForFinished } from './load.mjs';
import { machineCpuBetween, machineCpuSnapshot, serverCpuSeconds } from './machine.mjs';
import { round, summarize } from './stats.mjs';

/** CPU seconds so far of the system's processes, the load generator (this process) and the servers. */
export function cpuSnapshot(target) {
  const { user, system } = process.cpuUsage();
  return { ...target.cpuSeconds(), 'load generator (bench process)': (user + system) / 1e6, ...serverCpuSeconds() };
}

/** CPU milliseconds per completed run, per process, between two snapshots. */
export function cpuPerRun(before, after, runs) {
  return Object.fromEntries(
    Object.keys(after).map((k) => [k, before[k] == null || after[k] == null ? null : round(((after[k] - before[k]) * 1000) / runs, 2)]),
  );
}

/**
 * @param api       signed-up ApiClient on the system's REST API
 * @param target    { finished(): Promise<number>, timings(ids): Promise<{created, started, finished, failed, missing}>,
 *                    cpuSeconds(): { [process]: seconds }, runQueueSeconds?(): { [process]: seconds waiting for a CPU },
 *                    pollMs?, dbStats?(): Promise<object>,
 *                    dbStatsPerRun?(before, after, runs): object }
 * @param overrides options of this measurement that differ from the run's (`ctx.opts`);
 *                  `pacedSeconds: 0` leaves out the paced phase
 */
export async function measureThroughput(ctx, api, target, overrides = {}) {
  const { log } = ctx;
  const opts = { ...ctx.opts, ...overrides };
  const cursor = { next: 0 };
  let t = Date.now();
  await createManualWorkflows(api, opts.workflows, opts.clients);
  log(`  ${opts.workflows} workflows created in ${round((Date.now() - t) / 1000, 1)} s`);

  // Warm-up (not measured): JIT, pools, the consumer group's first assignment.
  t = Date.now();
  const warm = await closedLoopTriggers(api, { runs: opts.warmup, workflows: opts.workflows, clients: opts.clients, cursor, maxSeconds: opts.maxSeconds / 2 });
  let expected = warm.ids.length;
  await waitForFinished(target.finished, expected);
  log(`  warm-up: ${opts.warmup} runs in ${round((Date.now() - t) / 1000, 1)} s`);

  ctx.loadRss.reset();
  const dbBefore = await target.dbStats?.();
  const cpuBefore = cpuSnapshot(target);
  const runQueueBefore = target.runQueueSeconds?.();
  const machineBefore = machineCpuSnapshot();
  const load = await closedLoopTriggers(api, { runs: opts.runs, workflows: opts.workflows, clients: opts.clients, cursor, maxSeconds: opts.maxSeconds });
  if (load.capped) log(`  time cap: ${opts.maxSeconds} s reached after ${load.ids.length} of ${opts.runs} runs`);
  expected += load.ids.length;
  log(`  ${load.ids.length} runs accepted in ${round((load.t1 - load.t0) / 1000, 1)} s (${load.busy409} answered 409, ${load.errors} errors ${JSON.stringify(load.errorSamples)}); waiting for them to finish`);
  await waitForFinished(target.finished, expected, { intervalMs: target.pollMs ?? 100 });
  const cpuAfter = cpuSnapshot(target);
  const runQueueAfter = target.runQueueSeconds?.();
  const machine = machineCpuBetween(machineBefore, machineCpuSnapshot());
  const dbAfter = await target.dbStats?.();
  const tm = await target.timings(load.ids);
  const lastFinished = Math.max(...tm.finished);
  const seconds = (lastFinished - load.t0) / 1000;
  const completed = tm.finished.length - tm.failed;
  const startLatencies = tm.started.map((s, i) => s - tm.created[i]).filter(Number.isFinite);

  // Paced: the trigger latency at a fixed arrival rate (the target is quoted at 1,000/s).
  const paced = opts.pacedSeconds > 0 ? await pacedPhase(ctx, api, target, opts, cursor, expected) : undefined;

  const cpuMsPerRun = cpuPerRun(cpuBefore, cpuAfter, completed);
  return {
    runs: load.ids.length,
    cpuMsPerRun,
    // Per completed run, how long each process was runnable but waited for a core.
    ...(runQueueBefore ? { runQueueMsPerRun: cpuPerRun(runQueueBefore, runQueueAfter, completed) } : {}),
    machineDuringTimedPhase: machine,
    ...(dbBefore ? { postgresPerRun: target.dbStatsPerRun(dbBefore, dbAfter, completed) } : {}),
    cappedAtSeconds: load.capped ? opts.maxSeconds : undefined,
    completed,
    failed: tm.failed,
    missing: tm.missing,
    seconds: round(seconds, 2),
    runsPerSec: round(completed / seconds),
    submitPerSec: round((load.ids.length / (load.t1 - load.t0)) * 1000),
    busy409: load.busy409,
    errors: load.errors,
    errorSamples: load.errorSamples,
    triggerMs: summarize(load.latencies, 2),
    triggerAcceptedMs: summarize(load.acceptedLatencies, 2),
    startMs: summarize(startLatencies),
    paced,
  };
}

/** Triggers sent on a fixed schedule for `opts.pacedSeconds`, then waits until those runs finished too. */
async function pacedPhase(ctx, api, target, opts, cursor, finishedBefore) {
  const paced = await pacedTriggers(api, { rate: opts.rate, seconds: opts.pacedSeconds, workflows: opts.workflows, cursor });
  await waitForFinished(target.finished, finishedBefore + paced.ids.length);
  ctx.log(`  paced: ${round(paced.achievedRate)} req/s for ${opts.pacedSeconds} s, ${paced.ids.length} accepted, ${paced.busy409} × 409, ${paced.errors} errors ${JSON.stringify(paced.errorSamples)}, ${paced.dropped} not sent (over ${256} in flight)`);
  return {
    rate: opts.rate,
    seconds: opts.pacedSeconds,
    achievedRate: round(paced.achievedRate),
    accepted: paced.ids.length,
    busy409: paced.busy409,
    errors: paced.errors,
    errorSamples: paced.errorSamples,
    dropped: paced.dropped,
    triggerMs: summarize(paced.latencies, 2),
  };
}
