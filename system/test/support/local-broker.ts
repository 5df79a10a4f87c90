import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'scripts', 'kafka-local.sh');

/**
 * A Kafka broker of a test's own (scripts/kafka-local.sh on other ports and a temporary
 * data dir), for fault tests that stop and restart the broker without disturbing anyone.
 */
export class LocalBroker {
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'wf-kafka-'));
  constructor(
    readonly port: number,
    private readonly controllerPort: number,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  private run(command: string): void {
    const result = spawnSync('bash', [script, command], {
      env: { ...process.env, KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.controllerPort), KAFKA_DATA_DIR: this.dataDir },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`kafka-local.sh ${command} failed:\n${result.stderr}`);
  }

  start(): void {
    this.run('start');
  }

  stop(): void {
    this.run('stop');
  }

  destroy(): void {
    try {
      this.stop();
    } finally {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }

  static available(): boolean {
    return spawnSync('sh', ['-c', 'command -v java && command -v mvn'], { stdio: 'ignore' }).status === 0;
  }
}
