// Child processes the bench starts and measures: the services, the BullMQ worker, the
// embedded host. Output goes to a log file, readiness is an HTTP probe, memory is read
// from /proc, and stop() is SIGTERM first (so --cpu-prof profiles get written).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { httpGet } from './http-client.mjs';
import { procCpuSeconds, procMemory, procRunQueueSeconds } from './rss.mjs';
import { sleep } from './stats.mjs';

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Variables of the bench's own environment that would change what a service connects to. */
const SCRUBBED = ['MONGO_URL', 'STORE', 'DATABASE_URL', 'KAFKA_BROKERS', 'PORT', 'HEALTH_PORT', 'NODE_OPTIONS'];

export function childEnv(extra) {
  const env = { ...process.env };
  for (const k of SCRUBBED) delete env[k];
  return { ...env, ...extra };
}

export class NodeProcess {
  /**
   * @param {string} name     label in the report
   * @param {object} o
   * @param {string} o.script  path of the entry point
   * @param {string[]} [o.args]
   * @param {string[]} [o.nodeArgs]  e.g. --cpu-prof
   * @param {object} o.env     complete environment (see childEnv)
   * @param {string} o.logFile where stdout and stderr go
   * @param {boolean} [o.ipc]  open an IPC channel (process.send in the child)
   */
  constructor(name, o) {
    this.name = name;
    this.o = o;
    this.exit = undefined;
    this.lastMemory = { peakMiB: null, rssMiB: null };
  }

  start() {
    const { script, args = [], nodeArgs = [], env, logFile, ipc = false } = this.o;
    const log = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
    });
    this.child.stdout.pipe(log, { end: false });
    this.child.stderr.pipe(log, { end: false });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    return this;
  }

  get pid() {
    return this.child?.pid;
  }

  get running() {
    return this.child !== undefined && this.exit === undefined;
  }

  /** Peak and current RSS; once the process is gone, the last value read while it lived. */
  memory() {
    if (this.running) {
      const m = procMemory(this.pid);
      if (m.peakMiB !== null) this.lastMemory = m;
    }
    return this.lastMemory;
  }

  /** CPU seconds used so far (the last value read while it lived, once it is gone). */
  cpuSeconds() {
    if (this.running) {
      const s = procCpuSeconds(this.pid);
      if (s !== null) this.lastCpu = s;
    }
    return this.lastCpu ?? null;
  }

  /** Seconds spent waiting for a CPU so far (the last value read while it lived, once it is gone). */
  runQueueSeconds() {
    if (this.running) {
      const s = procRunQueueSeconds(this.pid);
      if (s !== null) this.lastRunQueue = s;
    }
    return this.lastRunQueue ?? null;
  }

  /** Waits until GET `url` answers 200, failing early if the process dies. */
  async waitReady(url, timeoutMs = 90_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before it was ready; see ${this.o.logFile}`);
      try {
        if ((await httpGet(url, 2_000)).status === 200) return this;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${this.name} was not ready at ${url} within ${timeoutMs} ms; see ${this.o.logFile}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Reads the peak RSS just before. */
  async stop(graceMs = 30_000) {
    if (!this.running) return this.exit;
    this.memory();
    this.cpuSeconds();
    this.runQueueSeconds();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
