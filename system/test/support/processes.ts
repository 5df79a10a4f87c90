import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './api-client.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export type ServiceName = 'workflows-svc' | 'scheduler-svc' | 'runner-svc';

/** A free TCP port: the shared test helper, re-exported for the suites that start processes. */
export { freePort } from '@wf/shared/testing';

/**
 * The environment the service processes of one test run share, on top of `env` (store and
 * broker): the run's own Kafka client and runner group, a one-second scheduler tick, short
 * leases, the flaky server on 127.0.0.1 reachable by http-request actions, quiet logs.
 */
export function serviceEnv(run: string, suffix: string, env: Record<string, string>): Record<string, string> {
  return {
    ...env,
    KAFKA_CLIENT_ID: `${run}-${suffix}`,
    RUNNER_GROUP_ID: `${run}-runner-${suffix}`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    SCHEDULER_TICK: '1s',
    RUNNER_LEASE_MARGIN_MS: '2000',
    HTTP_ALLOW_CIDRS: '127.0.0.1/32',
    LOG_LEVEL: 'warn',
  };
}

/** One service as its own OS process, started the way production starts it. */
export class ServiceProcess {
  private child?: ChildProcess;
  private output = '';
  exitCode: number | null = null;
  exited?: Promise<number | null>;

  constructor(
    readonly name: ServiceName,
    private readonly env: Record<string, string>,
    readonly healthUrl: string,
  ) {}

  /** Spawns it and waits until it is ready (`/readyz` 200), or only alive (`/healthz` 200: it may be waiting for its store or broker). */
  async start(until: 'ready' | 'alive' = 'ready'): Promise<this> {
    this.output = '';
    this.exitCode = null;
    const child = spawn(process.execPath, [join(root, this.name, 'dist', 'src', 'main.js')], {
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve((this.exitCode = code))));
    await eventually(async () => {
      if (this.exitCode !== null) throw new Error(`${this.name} exited with ${this.exitCode}:\n${this.output}`);
      return (await fetch(`${this.healthUrl}/${until === 'ready' ? 'readyz' : 'healthz'}`)).ok;
    }, 60_000, `${this.name} to be ${until}`, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${this.name} output ---\n${this.output}`);
    });
    return this;
  }

  /** Sends a signal and waits (bounded) for the process to exit; returns its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    if (!this.child || this.exitCode !== null) return this.exitCode;
    this.child.kill(signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited!, timer]);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`${this.name} did not exit within ${timeoutMs}ms of ${signal}\n${this.output}`);
    }
    return result;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }
}
