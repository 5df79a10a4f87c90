// The load shape shared by the embedded and durable scenarios: manual workflows with one
// `log` action, triggered through the REST API by concurrent clients.
import { performance } from 'node:perf_hooks';
import { sleep } from './stats.mjs';

/** Runs `work(i)` for i in [0, total) on `concurrency` lanes, each awaiting its call. */
export async function lanes(concurrency, total, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        await work(i);
      }
    }),
  );
}

export const workflowName = (i) => `w${i}`;

/** One manual workflow with a single `log` action (info level; services run at LOG_LEVEL=warn, so it is not written). */
export async function createManualWorkflows(api, count, concurrency) {
  await lanes(concurrency, count, (i) =>
    api.expect(201, 'POST', '/workflows', {
      workflowId: workflowName(i),
      trigger: { type: 'manual' },
      actions: [{ type: 'log', message: 'run {{execution.id}} of {{workflow.id}}' }],
    }),
  );
}

/**
 * Closed loop: `clients` concurrent clients, each sending one trigger and awaiting the
 * answer, until `runs` were accepted. Workflows are picked round-robin from a shared
 * cursor; a 409 (workflow still busy) is counted and the client moves on to the next one.
 * With `maxSeconds`, no request starts after that long (the phase ends short of `runs`).
 */
export async function closedLoopTriggers(api, { runs, workflows, clients, cursor = { next: 0 }, maxSeconds = Infinity }) {
  const latencies = []; // every trigger request, 202 or 409
  const acceptedLatencies = [];
  const ids = [];
  let busy409 = 0;
  let errors = 0;
  const errorSamples = {};
  let remaining = runs; // a slot is taken when a request goes out and given back on a 409
  const t0 = Date.now();
  const deadline = t0 + maxSeconds * 1000;
  let capped = false;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (remaining > 0) {
        if (Date.now() >= deadline) {
          capped = true;
          return;
        }
        remaining -= 1;
        const wf = workflowName(cursor.next++ % workflows);
        const s = performance.now();
        const res = await api.request('POST', `/workflows/${wf}/trigger`);
        const ms = performance.now() - s;
        latencies.push(ms);
        if (res.status === 202) {
          acceptedLatencies.push(ms);
          ids.push(res.body.executionId);
        } else if (res.status === 409) {
          busy409 += 1;
          remaining += 1;
        } else {
          // Counted and reported; the run is retried on another workflow, as a client would.
          errors += 1;
          const what = `${res.status} ${res.body?.error?.code ?? ''}`.trim();
          errorSamples[what] = (errorSamples[what] ?? 0) + 1;
          remaining += 1;
          if (errors > Math.max(100, runs)) throw new Error(`POST /workflows/${wf}/trigger keeps failing: ${JSON.stringify(errorSamples)}`);
        }
      }
    }),
  );
  return { t0, t1: Date.now(), ids, latencies, acceptedLatencies, busy409, errors, errorSamples, capped };
}

/**
 * Open loop at a fixed rate (calls/s) for `seconds`: calls start on schedule whether or not
 * earlier ones have finished (at most `maxInFlight` outstanding), so latency is measured at
 * that arrival rate rather than at whatever rate the system sustains. A call due while
 * `maxInFlight` are outstanding is not made and counted as dropped: the system is not
 * keeping up, and the achieved rate says by how much. `call()` resolves to a label
 * ('accepted', 'busy', or an error description) and may return `{ label, id }`.
 */
export async function pacedCalls({ rate, seconds, maxInFlight = 256 }, call) {
  const total = Math.round(rate * seconds);
  const latencies = [];
  const ids = [];
  const outcomes = {};
  let sent = 0;
  let inFlight = 0;
  let dropped = 0;
  const pending = new Set();
  const t0 = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (sent < due) {
      sent += 1;
      if (inFlight >= maxInFlight) {
        dropped += 1;
        continue;
      }
      const s = performance.now();
      inFlight += 1;
      const p = call().then(
        (r) => {
          latencies.push(performance.now() - s);
          const label = typeof r === 'string' ? r : r.label;
          if (r?.id !== undefined) ids.push(r.id);
          outcomes[label] = (outcomes[label] ?? 0) + 1;
        },
        (err) => {
          const label = `error ${err.code ?? err.message}`;
          outcomes[label] = (outcomes[label] ?? 0) + 1;
        },
      );
      pending.add(p);
      p.finally(() => {
        inFlight -= 1;
        pending.delete(p);
      });
    }
    await sleep(1);
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - t0) / 1000;
  return { ids, latencies, outcomes, dropped, achievedRate: (total - dropped) / elapsed };
}

/** `pacedCalls` of manual triggers, round-robin over the workflows. */
export async function pacedTriggers(api, { rate, seconds, workflows, cursor = { next: 0 } }) {
  const r = await pacedCalls({ rate, seconds }, async () => {
    const res = await api.request('POST', `/workflows/${workflowName(cursor.next++ % workflows)}/trigger`);
    if (res.status === 202) return { label: 'accepted', id: res.body.executionId };
    if (res.status === 409) return 'busy';
    return `${res.status} ${res.body?.error?.code ?? ''}`.trim();
  });
  const { accepted = 0, busy = 0, ...errorSamples } = r.outcomes;
  const errors = Object.values(errorSamples).reduce((a, b) => a + b, 0);
  return { ...r, accepted, busy409: busy, errors, errorSamples };
}

/**
 * Polls `progress()` (→ number finished) until it reaches `target`. Throws if nothing moved
 * for `stallMs`.
 */
export async function waitForFinished(progress, target, { intervalMs = 100, stallMs = 60_000, onTick } = {}) {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const done = await progress();
    onTick?.(done);
    if (done >= target) return done;
    if (done !== last) {
      last = done;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`stalled: ${done} of ${target} runs finished, none in the last ${stallMs / 1000} s`);
    }
    await sleep(intervalMs);
  }
}
