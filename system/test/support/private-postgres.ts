import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest `bin` directory of the machine's PostgreSQL that has initdb and pg_ctl, if any. */
function postgresBin(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')) && existsSync(join(PG_ROOT, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(PG_ROOT, versions[0], 'bin') : undefined;
}

/** PostgreSQL refuses to run as root; as root (CI) every server command runs as this OS user. */
const SERVER_USER = 'postgres';

/**
 * A PostgreSQL cluster of a test's own: `initdb` in a temporary directory, trust
 * authentication, listening on 127.0.0.1 at `port` only. Started and stopped with `pg_ctl`;
 * `crash()` sends SIGKILL to its postmaster, as an operator's `kill -9` or an OOM killer would.
 */
export class PrivatePostgres {
  private readonly bin: string;
  private readonly dir: string;
  private readonly asUser: string[];

  constructor(readonly port: number) {
    const bin = postgresBin();
    if (!bin) throw new Error(PrivatePostgres.unavailable());
    this.bin = bin;
    this.dir = mkdtempSync(join(tmpdir(), 'wf-pg-'));
    const root = process.getuid?.() === 0;
    this.asUser = root ? ['runuser', '-u', SERVER_USER, '--'] : [];
    if (root) {
      const { uid, gid } = userIds(SERVER_USER);
      chownSync(this.dir, uid, gid);
    }
  }

  /** Why the tier cannot run here, or undefined when it can. */
  static unavailable(): string | undefined {
    if (!postgresBin()) return `no initdb/pg_ctl under ${PG_ROOT}/*/bin: install the PostgreSQL server package`;
    if (process.getuid?.() === 0 && spawnSync('id', ['-u', SERVER_USER]).status !== 0) return `running as root and there is no "${SERVER_USER}" OS user to run the server as`;
    return undefined;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private run(tool: string, args: string[]): void {
    const [command, ...rest] = [...this.asUser, join(this.bin, tool), ...args];
    const result = spawnSync(command!, rest, { encoding: 'utf8', cwd: this.dir });
    if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}\n${this.serverLog()}`);
  }

  /** initdb (once), then starts the server and waits until it accepts connections. */
  start(): void {
    if (!existsSync(this.data)) {
      this.run('initdb', ['-D', this.data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
      writeFileSync(
        join(this.data, 'postgresql.auto.conf'),
        [
          `port = ${this.port}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${this.dir}'`,
          // A SIGKILLed postmaster is a process crash, not a machine crash: the OS keeps what was written.
          'fsync = off',
          'shared_buffers = 32MB',
          'max_connections = 100',
        ].join('\n'),
      );
    }
    this.run('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'server.log'), '-w', '-t', '60', 'start']);
  }

  /** The postmaster's process id, from its lock file. */
  get postmasterPid(): number {
    return Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** SIGKILL to the postmaster: its backends notice and exit, every connection drops. */
  crash(): void {
    process.kill(this.postmasterPid, 'SIGKILL');
  }

  /** Starts it again after a crash (crash recovery runs first), retrying while the old backends are still on their way out. */
  async restart(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.start();
        return;
      } catch (err) {
        if (attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  serverLog(): string {
    const file = join(this.dir, 'server.log');
    return existsSync(file) ? readFileSync(file, 'utf8').slice(-4_000) : '';
  }

  /** Stops the server at once and deletes its directory. */
  destroy(): void {
    if (existsSync(join(this.data, 'postmaster.pid'))) {
      try {
        this.run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}
