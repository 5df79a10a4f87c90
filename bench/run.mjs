#!/usr/bin/env node
// Benchmarks (issues 6 and 14): throughput and latency of this system, embedded and durable,
// against BullMQ on Redis, pg-boss and graphile-worker on PostgreSQL, in the same run on
// the same machine; the durable stack scaled out to two API and two runner processes;
// scheduler lateness with two schedulers; optionally a memory soak and CPU profiles. Prints a markdown table on stdout
// (progress goes to stderr) and writes bench/results/<timestamp>.json.
//
//   npm run bench                       everything but the soak
//   npm run bench -- --quick            a few seconds per scenario (CI)
//   npm run bench -- --only durable     one scenario (comma-separated list allowed)
//   npm run bench -- --soak             add the memory soak (long)
//   npm run bench -- --profile          CPU profiles of the durable services (--cpu-prof)
//   npm run bench -- --help             every option
//
// Exit status: 0 when every scenario ran (whatever the figures), 1 when the harness or a
// scenario broke (an exception, a stall), 2 on bad options.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SkipScenario } from './lib/infra.mjs';
import { summarizeProfiles } from './lib/cpuprofile.mjs';
import { cpuAccounting } from './lib/machine.mjs';
import { renderReport } from './lib/report.mjs';
import { startRssSampler } from './lib/rss.mjs';
import { round } from './lib/stats.mjs';
import { bullmq } from './scenarios/bullmq.mjs';
import { durable, durableApi2, durableRun2, durableX2 } from './scenarios/durable.mjs';
import { embedded } from './scenarios/embedded.mjs';
import { graphile } from './scenarios/graphile.mjs';
import { lateness } from './scenarios/lateness.mjs';
import { pgboss } from './scenarios/pgboss.mjs';
import { soak } from './scenarios/soak.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const SCENARIOS = { bullmq, pgboss, graphile, embedded, durable, 'durable-x2': durableX2, 'durable-api2': durableApi2, 'durable-run2': durableRun2, lateness, soak };
const DEFAULT_SET = ['bullmq', 'pgboss', 'graphile', 'embedded', 'durable', 'durable-x2', 'lateness'];

const HELP = `npm run bench -- [options]
  --quick                  a few seconds per scenario (CI): ${'3,000 runs over 300 workflows; lateness 500 workflows for 12 s'}
  --only a,b               scenarios to run: ${Object.keys(SCENARIOS).join(', ')} (default: ${DEFAULT_SET.join(', ')})
  --runs N                 timed runs per throughput scenario (default 20000)
  --workflows N            manual workflows the runs are spread over (default 2000)
  --clients N              concurrent clients / submitters (default 50)
  --warmup N               untimed runs before the timed ones (default 5% of --runs, at least 200)
  --max-seconds S          cap on a timed submission phase: it ends after S s even short of --runs (default 600; quick 4)
  --rate R                 arrival rate of the paced trigger-latency phase, requests/s (default 1000)
  --paced-seconds S        length of the paced phase (default 10; quick 1)
  --lateness-workflows N   periodic workflows (default 10000; quick 500)
  --lateness-seconds S     due times measured (default 60; quick 12)
  --scheduler-tick T       SCHEDULER_TICK for the lateness run (default: the service's own default)
  --soak                   also run the memory soak (not in the default set, never in --quick)
  --soak-seconds S         soak time budget (default 900)
  --soak-runs N            soak stops after this many runs (default 1000000)
  --profile                run the embedded host and the durable services with --cpu-prof; summarise the top frames
  --svc-env K=V            extra environment for every service process (repeatable), e.g. RUNNER_CONCURRENCY=64
  --help`;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      workflows: { type: 'string' },
      clients: { type: 'string' },
      warmup: { type: 'string' },
      'max-seconds': { type: 'string' },
      rate: { type: 'string' },
      'paced-seconds': { type: 'string' },
      'lateness-workflows': { type: 'string' },
      'lateness-seconds': { type: 'string' },
      'scheduler-tick': { type: 'string' },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string' },
      'soak-runs': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'svc-env': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const int = (name, fallback, min = 1) => {
  const raw = args[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`--${name}: expected a whole number ≥ ${min}, got "${raw}"`);
    process.exit(2);
  }
  return v;
};
const quick = args.quick;
const runs = int('runs', quick ? 3_000 : 20_000);
const opts = {
  quick,
  runs,
  workflows: int('workflows', quick ? 300 : 2_000),
  clients: int('clients', 50),
  warmup: int('warmup', Math.max(200, Math.round(runs * 0.05))),
  maxSeconds: int('max-seconds', quick ? 4 : 600),
  rate: int('rate', 1_000),
  pacedSeconds: int('paced-seconds', quick ? 1 : 10),
  latenessWorkflows: int('lateness-workflows', quick ? 500 : 10_000),
  latenessSeconds: int('lateness-seconds', quick ? 12 : 60),
  schedulerTick: args['scheduler-tick'],
  soakSeconds: int('soak-seconds', 900),
  soakRuns: int('soak-runs', 1_000_000),
  profile: args.profile,
};
const svcEnv = {};
for (const kv of args['svc-env']) {
  const i = kv.indexOf('=');
  if (i < 1) {
    console.error(`--svc-env: expected KEY=VALUE, got "${kv}"`);
    process.exit(2);
  }
  svcEnv[kv.slice(0, i)] = kv.slice(i + 1);
}
let selected = args.only ? args.only.split(',').map((s) => s.trim()).filter(Boolean) : [...DEFAULT_SET];
if (args.soak && !selected.includes('soak')) selected.push('soak');
if (quick) selected = selected.filter((s) => s !== 'soak' || args.only); // the soak only when asked by name
const unknown = selected.filter((s) => !SCENARIOS[s]);
if (unknown.length) {
  console.error(`--only: unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const log = (...m) => console.error('[bench]', ...m);
const ctx = {
  opts,
  repo,
  here,
  log,
  svcEnv,
  cleanups: [],
  logDir: join(tmpdir(), `wf-bench-${stamp}`),
  profileDir: opts.profile ? join(here, 'results', 'profiles', stamp) : undefined,
  loadRss: startRssSampler(100),
  /** node flags that write a CPU profile of the process named `name` (with --profile). */
  profileNodeArgs(name) {
    if (!this.profileDir) return [];
    mkdirSync(this.profileDir, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${this.profileDir}`, `--cpu-prof-name=${name.replace(/[^\w.-]/g, '_')}.cpuprofile`];
  },
};
mkdirSync(ctx.logDir, { recursive: true });

const results = {
  startedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: round(totalmem() / 2 ** 30, 1), node: process.version, platform: process.platform },
  options: { ...opts, svcEnv },
  logs: ctx.logDir,
  scenarios: {},
};

let broken = false;
const onSignal = () => {
  log('interrupted: cleaning up');
  void cleanup().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

async function cleanup() {
  for (const fn of ctx.cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
}

const startedAll = Date.now();
for (const name of selected) {
  log(`${name}: starting`);
  const started = Date.now();
  const cpu = cpuAccounting();
  try {
    const r = await SCENARIOS[name](ctx);
    results.scenarios[name] = { status: 'ok', wallSeconds: round((Date.now() - started) / 1000), ...r, machineCpu: cpu.end() };
    log(`${name}: done in ${round((Date.now() - started) / 1000)} s`);
  } catch (err) {
    if (err instanceof SkipScenario) {
      results.scenarios[name] = { status: 'skipped', reason: err.message };
      log(`${name}: SKIPPED: ${err.message}`);
    } else {
      broken = true;
      results.scenarios[name] = { status: 'error', error: String(err?.stack ?? err) };
      log(`${name}: FAILED after ${round((Date.now() - started) / 1000)} s: ${err?.stack ?? err}\n  service logs: ${ctx.logDir}`);
    }
  }
}
await cleanup();
if (ctx.profileDir) results.profiles = summarizeProfiles(ctx.profileDir);
results.wallSeconds = round((Date.now() - startedAll) / 1000);

console.log(renderReport(results));
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `${stamp}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`results: ${file} (${results.wallSeconds} s in all)`);
process.exit(broken ? 1 : 0);
