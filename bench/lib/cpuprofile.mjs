// Summaries of V8 .cpuprofile files (node --cpu-prof): self time by function and by
// package, so the report can say where the time goes without opening a profiler.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { round } from './stats.mjs';

const repoRoot = new URL('../../', import.meta.url).pathname;

/**
 * Native frames that are socket writes. Their self time is the syscall plus, on a busy
 * machine, the time the thread sat descheduled after waking its peer (PostgreSQL, Kafka,
 * the HTTP client): a sample taken then lands on the frame it was preempted in.
 */
const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString']);

/** `node_modules/<pkg>` or our workspace (`shared`, `runner-svc`, …) or `node:` internals. */
function packageOf(url) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return 'node core';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const rel = relative(repoRoot, path);
  return rel.startsWith('..') ? path : rel.split('/')[0];
}

function location(frame) {
  if (!frame.url) return '';
  const path = frame.url.replace(/^file:\/\//, '');
  const rel = path.startsWith(repoRoot) ? relative(repoRoot, path) : path;
  return `${rel}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map(); // node id → µs
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));
  let total = 0;
  const byFn = new Map();
  const byPkg = new Map();
  let idle = 0;
  let gc = 0;
  let socket = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    total += us;
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idle += us;
    if (name === '(garbage collector)') gc += us;
    if (!callFrame.url && SOCKET_WRITES.has(name)) socket += us;
    const key = `${name}\u0000${location(callFrame)}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const pkg = name.startsWith('(') ? name : packageOf(callFrame.url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  }
  const busy = total - idle || 1;
  const pct = (us) => round((us / busy) * 100, 1);
  return {
    file: file.split('/').pop(),
    totalSeconds: round(total / 1e6, 1),
    idlePct: round((idle / (total || 1)) * 100, 1),
    busySeconds: round(busy / 1e6, 1),
    gcPct: pct(gc),
    socketWritePct: pct(socket),
    note: 'percentages are of busy (non-idle) time',
    byPackage: [...byPkg]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([name, us]) => ({ name, pct: pct(us) })),
    top: [...byFn]
      .filter(([k]) => !k.startsWith('(idle)') && !SOCKET_WRITES.has(k.split('\u0000')[0]))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => {
        const [name, loc] = k.split('\u0000');
        return { name, location: loc, pct: pct(us), ms: round(us / 1000) };
      }),
  };
}

export function summarizeProfiles(dir) {
  let files = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  } catch {
    return [];
  }
  return files.map((f) => ({ path: join(dir, f), ...summarizeProfile(join(dir, f)) }));
}
