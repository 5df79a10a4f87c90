// The markdown report: throughput side by side with BullMQ, lateness, soak, profiles,
// and each target of issues 6 and 14 with how far off it is.
import { round } from './stats.mjs';

const LABELS = {
  bullmq: 'BullMQ 6 on Redis (in memory, keeps nothing)',
  pgboss: 'pg-boss 10 on PostgreSQL (keeps the job row)',
  graphile: 'graphile-worker 0.17 on PostgreSQL (keeps nothing)',
  embedded: 'embedded (1 process, memory store, in-process bus)',
  durable: 'durable (3 processes, PostgreSQL, Kafka)',
  'durable-x2': 'durable ×2 (2 workflows-svc, 2 runners, 1 scheduler; same servers)',
  'durable-api2': 'durable, 2 workflows-svc (1 runner, 1 scheduler)',
  'durable-run2': 'durable, 2 runners (1 workflows-svc, 1 scheduler)',
};
/** The durable stack's scale-out scenarios, beside `durable`. */
const SCALE_OUT = ['durable-x2', 'durable-api2', 'durable-run2'];
/** Scale-out on one machine holds when two of each do at least this share of one of each's runs/s (run-to-run noise here is about ±10%). */
const SCALE_OUT_HOLDS_AT = 0.9;
const TARGET_TRIGGER_P99_MS = 10; // issue 6, at 1,000 req/s
const TARGET_TRIGGER_P99_AT_PGBOSS_RATE_MS = 100; // issue 14
/** The systems we compare against, in the order of the ratio columns. */
const BASELINES = [
  ['pgboss', 'pg-boss'],
  ['graphile', 'graphile-worker'],
  ['bullmq', 'BullMQ'],
];
const TARGET_LATENESS_P99_MS = 500;

const pair = (s) => (s && s.n ? `${s.p50} / ${s.p99}` : '–');
/** CPU per run summed over every process listed, servers and load generator included. */
const cpuTotal = (perProcess) => {
  const values = Object.values(perProcess ?? {}).filter((v) => typeof v === 'number');
  return values.length ? round(values.reduce((a, b) => a + b, 0), 2) : '–';
};
const machineLoad = (m) => (m ? `${m.coresIdle}, ${m.cpuWaitPct ?? '–'}%` : '–');
const rss = (m) => (m ? Object.entries(m).map(([k, v]) => `${k} ${v}`).join('; ') : '–');

export function renderReport(results) {
  const s = results.scenarios;
  const o = results.options;
  const ok = (k) => (s[k]?.status === 'ok' ? s[k] : undefined);
  const base = ok('bullmq');
  const ratioTo = (x, b) => (b && x?.runsPerSec ? `${round(x.runsPerSec / b.runsPerSec, 2)}×` : '–');
  const baselines = BASELINES.filter(([k]) => s[k]);
  const out = [];
  const m = results.machine;
  out.push(`## Benchmark ${results.startedAt}${o.quick ? ' (quick)' : ''}`, '');
  out.push(`${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, node ${m.node}.`, '');

  const tp = ['bullmq', 'pgboss', 'graphile', 'embedded', 'durable', ...SCALE_OUT].filter((k) => s[k]);
  if (tp.length) {
    out.push(`### Throughput: ${o.runs} runs (at most ${o.maxSeconds} s of submitting) after ${o.warmup} warm-up, ${o.workflows} manual workflows with one \`log\` action, ${o.clients} concurrent clients each awaiting its answer`, '');
    const ratioHeads = baselines.map(([, label]) => ` × ${label} |`).join('');
    out.push(`| system | runs timed | completed runs/s |${ratioHeads} CPU ms per run (all processes) | trigger p50 / p99 ms (closed loop) | trigger p50 / p99 ms paced at ${o.rate}/s (achieved) | accepted→started p50 / p99 ms | 409s | peak RSS MiB |`);
    out.push(`| --- | ---: | ---: |${baselines.map(() => ' ---: |').join('')} ---: | ---: | ---: | ---: | ---: | --- |`);
    for (const k of tp) {
      const x = s[k];
      if (x.status !== 'ok') {
        out.push(`| ${LABELS[k]} | ${x.status}: ${(x.reason ?? x.error ?? '').split('\n')[0]} | |${baselines.map(() => ' |').join('')} | | | | | |`);
        continue;
      }
      const paced = x.paced ? `${pair(x.paced.triggerMs)} (${x.paced.achievedRate}/s)` : '–';
      const ratios = baselines.map(([b]) => ` ${ratioTo(x, ok(b))} |`).join('');
      out.push(
        `| ${LABELS[k]} | ${x.runs}${x.cappedAtSeconds ? ' (time cap)' : ''} | ${x.runsPerSec} |${ratios} ${cpuTotal(x.cpuMsPerRun)} | ${pair(x.triggerMs)} | ${paced} | ${pair(x.startMs)} | ${x.busy409 ?? '–'} | ${rss(x.peakRssMiB)} |`,
      );
    }
    out.push(
      '',
      'Baselines: "trigger" is the awaited add call (BullMQ `queue.add` with attempts 3, exponential backoff, removeOnComplete; pg-boss `send` with retryLimit 3 and backoff; graphile-worker `addJob` with maxAttempts 3), "accepted→started" is the submit time → the handler starts; each worker runs in a separate process as our runner does (BullMQ concurrency 50 on ioredis; pg-boss 4 work loops × batch 500, polling 0.5 s; graphile-worker concurrency 50, local queue 500, batch delays 0), each PostgreSQL queue on its own database of the same server. Ours: the `POST /workflows/:id/trigger` round trip, and execution.createdAt → startedAt. Completed runs/s: first request → last run finished. Paced: requests sent on a fixed schedule (open loop, at most 256 outstanding); an achieved rate below the target rate means the system could not keep up.',
      '',
    );
  }

  const cpuRows = tp.filter((k) => s[k].status === 'ok' && s[k].cpuMsPerRun);
  if (cpuRows.length) {
    out.push('CPU time per completed run during the timed phase (ms; user + system, from /proc; the servers are every PostgreSQL, Kafka and Redis process on the machine, each kind apart):', '');
    out.push('| system | per process |', '| --- | --- |');
    for (const k of cpuRows) out.push(`| ${LABELS[k]} | ${Object.entries(s[k].cpuMsPerRun).map(([p, v]) => `${p} ${v}`).join('; ')} |`);
    out.push('');
    const pg = s.durable?.postgresPerRun;
    if (pg) {
      const t = Object.entries(pg.tables).map(([n, x]) => `${n}: ${x.inserts} inserts, ${x.updates} updates (${x.hotUpdatePct ?? '–'}% HOT)`).join('; ');
      out.push(`PostgreSQL per completed run (durable): ${pg.commits} commits; ${t}.`, '');
    }
  }

  out.push(...scaleOutSection(s, ok, ratioTo));

  const l = s.lateness;
  if (l) {
    out.push(`### Scheduler lateness${l.status === 'ok' ? `: ${l.workflows} periodic workflows every ${l.interval}, ${l.seconds} s of due times, ${l.schedulers} schedulers, SCHEDULER_TICK ${l.tick}` : ''}`, '');
    if (l.status !== 'ok') out.push(`${l.status}: ${(l.reason ?? l.error ?? '').split('\n')[0]}`, '');
    else {
      out.push('| runs expected | emitted | lateness p50 ms | p99 ms | max ms | missed | emitted twice | skipped busy (scheduler metric) | peak RSS MiB |');
      out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
      out.push(`| ${l.expected} | ${l.emitted} | ${l.latenessMs.p50} | ${l.latenessMs.p99} | ${l.latenessMs.max} | ${l.missed} | ${l.emittedTwice} | ${l.skippedBusy ?? '–'} | ${rss(l.peakRssMiB)} |`, '');
      out.push('Lateness = execution.trigger.firedAt − trigger.scheduledFor, read from PostgreSQL. Workflows were created through the PostgreSQL store\'s repository API (`createPostgresStore`), not the REST API.', '');
    }
  }

  const k = s.soak;
  if (k) {
    out.push('### Memory soak (durable stack)', '');
    if (k.status !== 'ok') out.push(`${k.status}: ${(k.reason ?? k.error ?? '').split('\n')[0]}`, '');
    else {
      out.push('| runs | seconds | runs/s | runner RSS first / last / peak MiB | RSS slope (2nd half) MiB per 100k runs | MiB per minute | r² | heap slope MiB per 100k runs |');
      out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      out.push(`| ${k.runs} | ${k.seconds} | ${k.runsPerSec} | ${k.runnerRss.first} / ${k.runnerRss.last} / ${k.runnerRss.peak} | ${k.slope.mibPer100kRuns} | ${k.slope.mibPerMinute} | ${k.slope.r2} | ${k.slope.heapMibPer100kRuns} |`, '');
    }
  }

  if (results.profiles?.length) {
    out.push('### Where the time goes (CPU profiles, self time as % of non-idle samples)', '');
    out.push('Socket writes (`writev`, `writeBuffer`) are listed apart: their share is the syscall plus time spent descheduled after waking the peer, which grows with every round trip on a busy machine.', '');
    for (const p of results.profiles) {
      out.push(`**${p.file}** — ${p.totalSeconds} s sampled, ${p.idlePct}% idle; socket writes ${p.socketWritePct}%, GC ${p.gcPct}%. By package: ${p.byPackage.slice(0, 6).map((b) => `${b.name} ${b.pct}%`).join(', ')}`, '');
      out.push('| self % | function | location |', '| ---: | --- | --- |');
      for (const f of p.top.slice(0, 12)) out.push(`| ${f.pct} | ${f.name} | ${f.location} |`);
      out.push('');
    }
  }

  const noisy = Object.entries(s).filter(([, x]) => x.machineCpu?.coresUsed?.other >= 0.15 || x.machineCpu?.coresStolen >= 0.15);
  if (noisy.length) {
    out.push(
      '### Machine noise',
      '',
      `CPU the scenarios could not have (of ${m.cpus} cores): taken by processes that are neither the bench, its children nor Redis/PostgreSQL/Kafka, or stolen by the virtual machine's host (steal time). The figures above are lower than on a quiet machine, and not comparable with another run's:`,
      '',
    );
    for (const [name, x] of noisy) {
      const { coresUsed, coresStolen = 0, topOther, seconds } = x.machineCpu;
      const parts = [];
      if (coresStolen >= 0.15) parts.push(`${coresStolen} cores stolen by the host`);
      if (coresUsed.other >= 0.15) parts.push(`${coresUsed.other} cores to other processes (${topOther.map((o) => `pid ${o.pid} ${o.cores} cores \`${o.cmd.slice(0, 90)}\``).join('; ')})`);
      out.push(`- ${name}, over ${seconds} s: ${parts.join('; ')}`);
    }
    out.push('');
  }

  const targets = [];
  const d = ok('durable');
  const boss = ok('pgboss');
  if (d && boss) {
    const r = d.runsPerSec / boss.runsPerSec;
    targets.push(`(issue 14) durable completed runs/s ≥ pg-boss's: ${d.runsPerSec} vs ${boss.runsPerSec} → ${r >= 1 ? 'met' : `missed, ${round(r, 2)}×`}; CPU per run ${cpuTotal(d.cpuMsPerRun)} vs ${cpuTotal(boss.cpuMsPerRun)} ms`);
    targets.push(`(issue 14) durable trigger p99 < ${TARGET_TRIGGER_P99_AT_PGBOSS_RATE_MS} ms under the closed-loop load: ${d.triggerMs?.p99} ms → ${d.triggerMs?.p99 < TARGET_TRIGGER_P99_AT_PGBOSS_RATE_MS ? 'met' : 'missed'}`);
  }
  const x2 = ok('durable-x2');
  if (d && x2) {
    const r = x2.runsPerSec / d.runsPerSec;
    targets.push(`(issue 14) two workflows-svc and two runners on this machine do not drop throughput: ${x2.runsPerSec} vs ${d.runsPerSec} runs/s → ${r >= SCALE_OUT_HOLDS_AT ? 'held' : 'dropped'}, ${round(r, 2)}×`);
  }
  if (d && base) {
    const r = d.runsPerSec / base.runsPerSec;
    targets.push(`(issue 6) durable completed runs/s ≥ BullMQ's: ${d.runsPerSec} vs ${base.runsPerSec} → ${r >= 1 ? 'met' : `missed, ${round(r, 3)}× (${round(base.runsPerSec / d.runsPerSec, 1)} times slower)`}`);
  }
  if (d?.paced?.triggerMs?.n) {
    const p = d.paced.triggerMs.p99;
    targets.push(`(issue 6) durable trigger p99 < ${TARGET_TRIGGER_P99_MS} ms at ${o.rate} req/s: ${p} ms (achieved ${d.paced.achievedRate} req/s) → ${p < TARGET_TRIGGER_P99_MS ? 'met' : `missed by ${round(p - TARGET_TRIGGER_P99_MS, 1)} ms`}`);
  }
  if (l?.status === 'ok') {
    const p = l.latenessMs.p99;
    targets.push(`lateness p99 < ${TARGET_LATENESS_P99_MS} ms with ${l.workflows} workflows: ${p} ms → ${p < TARGET_LATENESS_P99_MS ? 'met' : `missed by ${round(p - TARGET_LATENESS_P99_MS)} ms`}`);
    targets.push(`periodic runs emitted twice = 0: ${l.emittedTwice} → ${l.emittedTwice === 0 ? 'held' : 'VIOLATED'}; missed: ${l.missed} of ${l.expected}`);
  }
  if (k?.status === 'ok') targets.push(`runner memory flat over the soak: ${k.slope.mibPer100kRuns} MiB per 100k runs over ${k.runs} runs`);
  if (targets.length) out.push('### Targets (issues 6 and 14)', '', ...targets.map((t) => `- ${t}`), '');
  return out.join('\n');
}

/** The scale-out scenarios beside durable: the ratios, CPU per run, and how the runs spread over the instances. */
function scaleOutSection(s, ok, ratioTo) {
  const one = ok('durable');
  const rows = ['durable', ...SCALE_OUT].map((k) => [k, ok(k)]).filter(([, x]) => x);
  if (!rows.some(([k]) => k !== 'durable')) return [];
  const shares = (counts) => {
    const entries = Object.entries(counts ?? {});
    const total = entries.reduce((a, [, v]) => a + (v ?? 0), 0);
    return entries.length && total ? entries.map(([name, v]) => `${name} ${v === null ? '?' : `${round((v / total) * 100)}%`}`).join(', ') : '–';
  };
  const out = ['### Scale-out on this machine (issue 14 item 5)', ''];
  out.push('| stack | runs/s | × durable | × pg-boss | CPU ms per run | services\' run-queue wait ms per run | machine: cores idle, CPU wait % | partitions | runs per runner | triggers per workflows-svc |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |');
  for (const [k, x] of rows) {
    out.push(`| ${LABELS[k]} | ${x.runsPerSec} | ${ratioTo(x, one)} | ${ratioTo(x, ok('pgboss'))} | ${cpuTotal(x.cpuMsPerRun)} | ${cpuTotal(x.runQueueMsPerRun)} | ${machineLoad(x.machineDuringTimedPhase)} | ${x.spread?.partitions ?? '–'} | ${shares(x.spread?.attemptsPerRunner)} | ${shares(x.spread?.acceptedPerApi)} |`);
  }
  out.push(
    '',
    'Same servers, same cores: the second of each shares the CPU of the first, so the question is whether throughput holds, not whether it doubles (see the README, "Scaling out"). Shares count every run of the scenario, warm-up and paced included.',
    'Run-queue wait: time the services\' threads were runnable but had no core (/proc/<pid>/task/*/schedstat), summed, per completed run; beside the CPU per run it says whether the processes waited on the cores. Machine: the timed phase\'s idle cores (/proc/stat) and the share of it in which some task waited for a CPU (/proc/pressure/cpu); these also count processes that came and went, which the noise accounting below cannot see.',
    '',
  );
  return out;
}
