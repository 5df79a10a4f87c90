// Resident memory of this process (sampled) and of others (the kernel's counters).
import { readdirSync, readFileSync } from 'node:fs';
import { round } from './stats.mjs';

const MiB = 1024 * 1024;

/**
 * Samples this process's RSS every `intervalMs` and keeps the maximum. The timer is
 * unref'd: it never keeps the process alive.
 */
export function startRssSampler(intervalMs = 100) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    const rss = process.memoryUsage().rss;
    if (rss > peak) peak = rss;
  }, intervalMs);
  timer.unref();
  return {
    peakMiB: () => round(Math.max(peak, process.memoryUsage().rss) / MiB),
    reset: () => void (peak = process.memoryUsage().rss),
    stop: () => clearInterval(timer),
  };
}

/** CPU time (user + system) a live process has used, in seconds; null once it is gone. */
export function procCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ ticks
  } catch {
    return null;
  }
}

/**
 * Seconds the process's threads have spent runnable but waiting for a CPU (the run queue),
 * from /proc/<pid>/task/<tid>/schedstat (its second field, in ns); null once it is gone or
 * off Linux. Beside its CPU seconds it says whether a process waited on the cores.
 */
export function procRunQueueSeconds(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

/** `VmHWM` (peak RSS) and `VmRSS` of a live process in MiB, from /proc; nulls once it is gone. */
export function procMemory(pid) {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { peakMiB: null, rssMiB: null };
  }
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { peakMiB: round(kb('VmHWM') / 1024), rssMiB: round(kb('VmRSS') / 1024) };
}
