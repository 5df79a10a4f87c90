// Memory soak: the durable stack under a steady closed-loop load for a long time (up to
// --soak-runs runs or --soak-seconds), sampling the runner's RSS (/proc) and V8 heap
// (its /metrics) every few seconds. A runner whose memory is flat shows a slope near zero.
import { DurableStack } from '../lib/durable-stack.mjs';
import { ApiClient, httpGet } from '../lib/http-client.mjs';
import { createManualWorkflows, waitForFinished, workflowName } from '../lib/load.mjs';
import { procMemory } from '../lib/rss.mjs';
import { linearFit, round, sleep } from '../lib/stats.mjs';

const SAMPLE_MS = 5_000;

async function heapUsedMiB(url) {
  try {
    const { text } = await httpGet(`${url}/metrics`, 3_000);
    const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return m ? round(Number(m[1]) / 2 ** 20) : null;
  } catch {
    return null;
  }
}

export async function soak(ctx) {
  const { opts, log } = ctx;
  const stack = await new DurableStack(ctx, 'soak').open();
  let api;
  try {
    const runner = await stack.start('runner-svc');
    await stack.start('scheduler-svc');
    const wf = await stack.start('workflows-svc');
    api = new ApiClient(wf.url);
    await api.signUp();
    await createManualWorkflows(api, opts.workflows, opts.clients);

    const samples = [];
    const deadline = Date.now() + opts.soakSeconds * 1000;
    let accepted = 0;
    let busy409 = 0;
    let errors = 0;
    let stop = false;
    let cursor = 0;
    const t0 = Date.now();
    const sampler = (async () => {
      while (!stop) {
        const finished = await stack.finishedCount();
        samples.push({ s: round((Date.now() - t0) / 1000, 1), finished, accepted, rssMiB: procMemory(runner.pid).rssMiB, heapMiB: await heapUsedMiB(runner.url) });
        const last = samples.at(-1);
        if (samples.length % 12 === 1) log(`  soak ${last.s} s: ${last.finished} runs finished, runner RSS ${last.rssMiB} MiB, heap ${last.heapMiB} MiB`);
        await sleep(SAMPLE_MS);
      }
    })();
    await Promise.all(
      Array.from({ length: opts.clients }, async () => {
        while (!stop) {
          const res = await api.request('POST', `/workflows/${workflowName(cursor++ % opts.workflows)}/trigger`);
          if (res.status === 202) accepted += 1;
          else if (res.status === 409) busy409 += 1;
          else errors += 1;
          if (accepted >= opts.soakRuns || Date.now() >= deadline) stop = true;
        }
      }),
    );
    await sampler;
    await waitForFinished(() => stack.finishedCount(), accepted, { intervalMs: 500, stallMs: 120_000 });
    const seconds = (Date.now() - t0) / 1000;

    // The slope over the second half: the first half holds start-up, JIT and pool growth.
    const half = samples.slice(Math.floor(samples.length / 2)).filter((x) => x.rssMiB !== null);
    const byRuns = linearFit(half.map((x) => x.finished), half.map((x) => x.rssMiB));
    const byTime = linearFit(half.map((x) => x.s), half.map((x) => x.rssMiB));
    const heap = half.filter((x) => x.heapMiB !== null);
    const heapByRuns = linearFit(heap.map((x) => x.finished), heap.map((x) => x.heapMiB));
    const rss = samples.map((x) => x.rssMiB).filter((v) => v !== null);
    await stack.stopAll();
    return {
      runs: accepted,
      busy409,
      errors,
      seconds: round(seconds),
      runsPerSec: round(accepted / seconds),
      runnerRss: { first: rss[0], last: rss.at(-1), peak: Math.max(...rss) },
      slope: {
        mibPer100kRuns: round(byRuns.slope * 100_000, 2),
        mibPerMinute: round(byTime.slope * 60, 2),
        r2: round(byRuns.r2, 2),
        heapMibPer100kRuns: round(heapByRuns.slope * 100_000, 2),
      },
      samples,
      peakRssMiB: stack.peakRss(),
    };
  } finally {
    api?.close();
    await stack.close();
  }
}
