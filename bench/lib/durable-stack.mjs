// The durable stack as a user runs it: each service its own OS process
// (`node <svc>/dist/src/main.js`) on a fresh PostgreSQL database and run-unique Kafka
// topics, configured only through environment variables.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, deleteTopics, dropDatabase, ensureKafka } from './infra.mjs';
import { childEnv, freePort, NodeProcess } from './processes.mjs';

const ENTRY = {
  'workflows-svc': 'workflows-svc/dist/src/main.js',
  'scheduler-svc': 'scheduler-svc/dist/src/main.js',
  'runner-svc': 'runner-svc/dist/src/main.js',
};

export class DurableStack {
  /**
   * @param ctx   the bench context (repo, logDir, cleanups, log, svcEnv, profileDir)
   * @param label short name of the scenario, part of the database and topic names
   * @param env   extra variables for every service of this stack
   */
  constructor(ctx, label, env = {}) {
    this.ctx = ctx;
    this.label = label;
    this.extraEnv = env;
    this.processes = [];
    this.suffix = `${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    this.database = `wf_bench_${this.suffix}`;
  }

  async open() {
    const { ctx } = this;
    this.brokers = await ensureKafka(ctx.repo, ctx.cleanups, ctx.log);
    this.databaseUrl = await createDatabase(this.database);
    this.dbCreated = true;
    const t = this.suffix.replace(/_/g, '-');
    this.topics = { requested: `bench.requested.${t}`, result: `bench.result.${t}`, deadLetter: `bench.dead-letter.${t}` };
    this.env = {
      STORE: 'postgres',
      DATABASE_URL: this.databaseUrl,
      KAFKA_BROKERS: this.brokers,
      KAFKA_CLIENT_ID: `bench-${t}`,
      TOPIC_EXECUTION_REQUESTED: this.topics.requested,
      TOPIC_EXECUTION_RESULT: this.topics.result,
      TOPIC_DEAD_LETTER: this.topics.deadLetter,
      RUNNER_GROUP_ID: `bench-${t}`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      SECRETS_KEY: randomBytes(32).toString('base64'),
      JWT_EXPIRES_IN: '24h',
      LOG_LEVEL: 'warn',
      // Rate limits off (0 = unlimited): the bench measures the pipeline, not the limiter.
      TRIGGER_RATE_LIMIT_PER_USER: '0',
      TRIGGER_RATE_LIMIT_PER_WORKFLOW: '0',
      LOGIN_RATE_LIMIT_PER_EMAIL: '0',
      LOGIN_RATE_LIMIT_PER_IP: '0',
      ...this.extraEnv,
      ...ctx.svcEnv,
    };
    this.db = new pg.Pool({ connectionString: this.databaseUrl, max: 4 });
    return this;
  }

  /** Starts one instance of `service` and waits for its /readyz. */
  async start(service, { name = service, env = {} } = {}) {
    const port = await freePort();
    const portVar = service === 'workflows-svc' ? 'PORT' : 'HEALTH_PORT';
    const nodeArgs = this.ctx.profileNodeArgs(`${this.label}-${name}`);
    const p = new NodeProcess(name, {
      script: join(this.ctx.repo, ENTRY[service]),
      nodeArgs,
      env: childEnv({ ...this.env, ...env, [portVar]: String(port) }),
      logFile: join(this.ctx.logDir, `${this.label}-${name.replace(/[^\w.-]/g, '_')}.log`),
    }).start();
    this.processes.push(p);
    p.url = `http://127.0.0.1:${port}`;
    await p.waitReady(`${p.url}/readyz`);
    return p;
  }

  /** Peak RSS (VmHWM) of every process this stack started, in MiB. */
  peakRss() {
    return Object.fromEntries(this.processes.map((p) => [p.name, p.memory().peakMiB]));
  }

  /** CPU seconds used so far by each process of this stack. */
  cpuSeconds() {
    return Object.fromEntries(this.processes.map((p) => [p.name, p.cpuSeconds()]));
  }

  /** Seconds each process of this stack has waited for a CPU so far (runnable, not running). */
  runQueueSeconds() {
    return Object.fromEntries(this.processes.map((p) => [p.name, p.runQueueSeconds()]));
  }

  query(text, values) {
    return this.db.query(text, values);
  }

  /** Finished executions (completed or failed), from the database. */
  async finishedCount() {
    const { rows } = await this.db.query("SELECT count(*)::int AS n FROM executions WHERE status IN ('completed', 'failed')");
    return rows[0].n;
  }

  async stopAll() {
    for (const p of [...this.processes].reverse()) await p.stop();
  }

  async close() {
    await this.stopAll().catch(() => undefined);
    await this.db?.end().catch(() => undefined);
    if (this.dbCreated) await dropDatabase(this.database).catch((err) => this.ctx.log(`could not drop ${this.database}: ${err.message}`));
    if (this.topics) await deleteTopics(this.brokers, Object.values(this.topics));
  }
}
