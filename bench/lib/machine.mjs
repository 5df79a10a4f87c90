// Who used the CPU while a scenario ran: the bench and the processes it started, the
// servers it talks to (Redis, PostgreSQL, Kafka), and everything else. On a 2-core machine
// a stray process taking a core halves what the scenario can show, and so does a busy
// virtual-machine host (steal time), so the report says so.
import { readdirSync, readFileSync } from 'node:fs';
import { round } from './stats.mjs';

const TICK = 100; // USER_HZ on Linux

function readProcs() {
  const procs = new Map();
  let pids = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return procs; // not Linux
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const ppid = Number(fields[1]);
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
      const start = Number(fields[19]);
      procs.set(Number(pid), { ppid, ticks, start, comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return procs;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 160);
  } catch {
    return '';
  }
}

const INFRA = /^(redis-server|postgres|java)$/;

/** CPU seconds used so far by the servers, each kind apart: PostgreSQL backends, the Kafka JVM, Redis. */
export function serverCpuSeconds() {
  const ticks = { 'PostgreSQL (every backend)': 0, 'Kafka (the JVM)': 0, Redis: 0 };
  for (const p of readProcs().values()) {
    if (p.comm === 'postgres') ticks['PostgreSQL (every backend)'] += p.ticks;
    else if (p.comm === 'java') ticks['Kafka (the JVM)'] += p.ticks;
    else if (p.comm === 'redis-server') ticks.Redis += p.ticks;
  }
  return Object.fromEntries(Object.entries(ticks).map(([server, t]) => [server, t / TICK]));
}

/** CPU seconds the hypervisor gave to other guests while this one wanted to run (steal, from /proc/stat). */
function stealSeconds() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    return Number(line.trim().split(/\s+/)[8] ?? 0) / TICK; // cpu user nice system idle iowait irq softirq steal
  } catch {
    return 0;
  }
}

/**
 * The whole machine's CPU so far: busy and idle seconds (all cores, /proc/stat) and the
 * microseconds in which some task waited for a CPU (/proc/pressure/cpu, "some"; null without
 * PSI). Unlike the per-process accounting it also sees processes that came and went in between.
 */
export function machineCpuSnapshot() {
  const snapshot = { at: Date.now(), busySeconds: null, idleSeconds: null, pressureMicros: null };
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    snapshot.busySeconds = (user + nice + system + irq + softirq + steal) / TICK;
    snapshot.idleSeconds = (idle + iowait) / TICK;
  } catch {
    return snapshot; // not Linux
  }
  try {
    snapshot.pressureMicros = Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]);
  } catch {
    // a kernel without PSI
  }
  return snapshot;
}

/** Between two snapshots: cores busy and idle on average, and the share of the time some task waited for a CPU (%). */
export function machineCpuBetween(before, after) {
  const seconds = (after.at - before.at) / 1000;
  if (before.busySeconds === null || !(seconds > 0)) return null;
  const pressure = before.pressureMicros === null || Number.isNaN(before.pressureMicros) ? null : (after.pressureMicros - before.pressureMicros) / 1e4 / seconds;
  return {
    coresBusy: round((after.busySeconds - before.busySeconds) / seconds, 2),
    coresIdle: round((after.idleSeconds - before.idleSeconds) / seconds, 2),
    cpuWaitPct: pressure === null ? null : round(pressure),
  };
}

/** Starts accounting; `end()` returns CPU seconds by group, the biggest foreign users, and CPU stolen by the host. */
export function cpuAccounting() {
  const before = readProcs();
  const stealBefore = stealSeconds();
  const t0 = Date.now();
  return {
    end() {
      const after = readProcs();
      const seconds = (Date.now() - t0) / 1000;
      // Descendants of the bench process are "ours" (children keep their ppid while alive).
      const ours = new Set([process.pid]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const [pid, p] of after) {
          if (!ours.has(pid) && ours.has(p.ppid)) {
            ours.add(pid);
            grew = true;
          }
        }
      }
      const groups = { bench: 0, servers: 0, other: 0 };
      const others = [];
      for (const [pid, p] of after) {
        const b = before.get(pid);
        const used = (p.ticks - (b && b.start === p.start ? b.ticks : 0)) / TICK;
        if (used <= 0) continue;
        if (ours.has(pid)) groups.bench += used;
        else if (INFRA.test(p.comm)) groups.servers += used;
        else {
          groups.other += used;
          others.push({ pid, cpuSeconds: used, cmd: cmdline(pid) || p.comm });
        }
      }
      // (Children that exited before end() are no longer in /proc, so the bench's own share is
      // not reported; what matters here is what the servers and strangers took.)
      const cores = (s) => round(s / seconds, 2);
      return {
        seconds: round(seconds, 1),
        coresUsed: { servers: cores(groups.servers), other: cores(groups.other) },
        coresStolen: cores(stealSeconds() - stealBefore),
        topOther: others
          .sort((a, b) => b.cpuSeconds - a.cpuSeconds)
          .slice(0, 5)
          .filter((o) => o.cpuSeconds / seconds >= 0.05)
          .map((o) => ({ pid: o.pid, cores: cores(o.cpuSeconds), cmd: o.cmd })),
      };
    },
  };
}
