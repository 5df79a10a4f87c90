import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/*
 * No container engine runs where these tests run, so the images are never built and the
 * compose file never started here. These tests keep the deployment files honest against
 * the code instead: what the Dockerfile copies, builds and starts exists and matches the
 * package scripts; the compose file wires what the services read; start-deps.sh waits and
 * prints what the services need (exercised against a fake `docker` CLI).
 *
 * The repo root is found from this file's location: system/dist/test/ -> ../../..
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const SERVICES = [
  { name: 'workflows-svc', portVar: 'PORT', port: 3000 },
  { name: 'scheduler-svc', portVar: 'HEALTH_PORT', port: 3001 },
  { name: 'runner-svc', portVar: 'HEALTH_PORT', port: 3002 },
] as const;

function read(path: string): string {
  const abs = join(root, path);
  if (!existsSync(abs)) assert.fail(`${path} does not exist (looked for ${abs})`);
  return readFileSync(abs, 'utf8');
}
const readJson = <T>(path: string): T => JSON.parse(read(path)) as T;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface PackageJson {
  workspaces?: string[];
  scripts?: Record<string, string>;
}
const rootPackage = readJson<PackageJson>('package.json');
assert.ok(rootPackage.workspaces?.includes('shared'), `${root} is not the repo root: this test must run from shared/dist/test/`);

// ---------------------------------------------------------------------------------------
// A small Dockerfile reader: instructions per stage, line continuations, comments, global
// ARG defaults in FROM, and stages built FROM other stages (whose settings they inherit).

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string | undefined;
  from: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue; // comments (and parser directives), also inside continuations
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole) logical.push(whole);
  }
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, word = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const keyword = word.toUpperCase();
    if (keyword === 'FROM') {
      const expanded = args.replace(/\$\{?(\w+)\}?/g, (m, v: string) => globalArgs.get(v) ?? m);
      const parts = expanded.split(/\s+/).filter((p) => !p.startsWith('--'));
      const asAt = parts.findIndex((p) => p.toUpperCase() === 'AS');
      stages.push({ from: parts[0] ?? '', name: asAt >= 0 ? parts[asAt + 1] : undefined, instructions: [] });
    } else if (stages.length === 0) {
      const [, name, value = ''] = /^(\w+)(?:=(.*))?$/.exec(args) ?? [];
      if (keyword === 'ARG' && name) globalArgs.set(name, value);
    } else {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

/** The instructions that shape a stage: its parent stages' first, then its own. */
function chainOf(stages: Stage[], stage: Stage): Instruction[] {
  const parent = stages.find((s) => s.name !== undefined && s.name === stage.from && s !== stage);
  return [...(parent ? chainOf(stages, parent) : []), ...stage.instructions];
}

const last = (chain: Instruction[], keyword: string) => chain.filter((i) => i.keyword === keyword).at(-1);

/** `ENV A=1 B=2` (and the legacy `ENV A 1`) as pairs, in order over the chain. */
function envOf(chain: Instruction[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const i of chain.filter((x) => x.keyword === 'ENV')) {
    if (!i.args.includes('=')) {
      const [k, ...v] = i.args.split(/\s+/);
      if (k) env.set(k, v.join(' '));
      continue;
    }
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) env.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
  }
  return env;
}

/** The JSON array of an exec-form CMD (or of a HEALTHCHECK's CMD). */
function execForm(args: string, what: string): string[] {
  try {
    const parsed: unknown = JSON.parse(args);
    assert.ok(Array.isArray(parsed) && parsed.every((p) => typeof p === 'string'));
    return parsed as string[];
  } catch {
    return assert.fail(`${what} must be exec form (a JSON array, so node gets signals without a shell): ${args}`);
  }
}

// ---------------------------------------------------------------------------------------
// .dockerignore semantics, enough for these paths: globs with *, ?, **, negation with !,
// the last matching rule wins, and an ignored directory ignores everything under it.

function dockerignored(patterns: string[], path: string): boolean {
  const toRe = (p: string) =>
    new RegExp(
      `^${p
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .map((seg) => (seg === '**' ? '.*' : escapeRe(seg).replace(/\\\*/g, '[^/]*').replace(/\\\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?')}$`,
    );
  const candidates = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRe(negate ? raw.slice(1) : raw);
    if (candidates.some((c) => re.test(c))) ignored = !negate;
  }
  return ignored;
}

// ---------------------------------------------------------------------------------------

/** A service's Dockerfile: its text, its stages, and its last stage (the image it builds). */
interface ServiceDockerfile {
  path: string;
  text: string;
  stages: Stage[];
  image: Stage;
}
const dockerfiles = new Map<string, ServiceDockerfile>(
  SERVICES.map(({ name }) => {
    const path = `${name}/Dockerfile`;
    const text = read(path);
    const stages = parseDockerfile(text);
    return [name, { path, text, stages, image: stages.at(-1) ?? assert.fail(`${path} has no FROM`) }];
  }),
);
const dockerfileOf = (name: string) => dockerfiles.get(name) ?? assert.fail(`no Dockerfile for ${name}`);

describe('Dockerfiles', () => {
  it('one per service, none at the root', () => {
    assert.ok(!existsSync(join(root, 'Dockerfile')), 'the root Dockerfile is gone: each service has its own (<service>/Dockerfile)');
  });

  it('are what scripts/images.sh makes from their one template, so their common stages are never edited apart', () => {
    const check = spawnSync('bash', [join(root, 'scripts/images.sh'), 'dockerfiles', '--check'], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  for (const svc of SERVICES) {
    const { path, text, stages, image } = dockerfileOf(svc.name);
    const stageNamed = (name: string) => stages.find((s) => s.name === name);

    describe(path, () => {
      it('needs no parser directive: BuildKit would fetch the named frontend from a registry, and other builders ignore it', () => {
        assert.doesNotMatch(text, /^#\s*syntax\s*=/im);
      });

      it('is multi-stage on Node 20, installs with npm ci from the committed lockfile and every workspace manifest', () => {
        assert.ok(stages.length >= 2, 'multi-stage: a build stage and a runtime stage at least');
        for (const s of stages.filter((x) => !stageNamed(x.from))) {
          assert.match(s.from, /^node:20[-.]/, `stage ${s.name ?? '(last)'} starts from ${s.from}; the services run on Node 20`);
        }
        assert.doesNotMatch(text, /\bnpm (install|i)\b/, 'npm ci only: installs exactly what the lockfile says');

        const lock = readJson<{ lockfileVersion: number; packages?: Record<string, { workspaces?: string[] }> }>('package-lock.json');
        assert.ok(lock.lockfileVersion >= 2, 'package-lock.json is a v2/v3 lockfile');
        assert.deepEqual(lock.packages?.['']?.workspaces, rootPackage.workspaces, 'the lockfile knows the same workspaces as package.json');

        const installs = stages.filter((s) => s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args)));
        assert.ok(installs.length > 0, 'some stage runs npm ci');
        for (const stage of installs) {
          const chain = chainOf(stages, stage);
          const ci = chain.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
          const copiedBefore = chain
            .slice(0, ci)
            .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))
            .map((i) => i.args);
          assert.ok(
            copiedBefore.some((c) => /\bpackage\.json\b/.test(c) && /\bpackage-lock\.json\b/.test(c)),
            `stage ${stage.name ?? '(last)'}: package.json and package-lock.json are copied before npm ci`,
          );
          for (const ws of rootPackage.workspaces ?? []) {
            assert.ok(
              copiedBefore.some((c) => c.split(/\s+/).includes(`${ws}/package.json`)),
              `stage ${stage.name ?? '(last)'}: workspace ${ws}'s package.json is copied before npm ci (npm ci checks the lockfile against every workspace)`,
            );
          }
        }
      });

      it(`compiles ${svc.name} and shared (tsc -b, or a root script that runs it) from sources it copies`, () => {
        const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => ({ stage: s, args: i.args })));
        const builds = runs.filter((r) => /\bnpm run \S+|\bnpx tsc -b\b/.test(r.args));
        assert.ok(builds.length > 0, 'a stage runs `npm run <script>` or `npx tsc -b <project>`');

        // Every project the builds compile, through tsconfig references, and their base configs.
        const compiled = new Set<string>();
        const extendsFiles = new Set<string>();
        const visit = (dir: string) => {
          const clean = dir.replace(/^\.\/|\/$/g, '');
          if (compiled.has(clean)) return;
          compiled.add(clean);
          const config = readJson<{ extends?: string; references?: { path: string }[] }>(`${clean}/tsconfig.json`);
          if (config.extends) extendsFiles.add(join(clean, config.extends).replace(/\\/g, '/'));
          for (const ref of config.references ?? []) visit(join(clean, ref.path).replace(/\\/g, '/'));
        };
        const tscProjects = (command: string) => /\btsc -b ((?:\s*[^\s&|;-][^\s&|;]*)+)/.exec(command)?.[1]?.trim().split(/\s+/);
        for (const build of builds) {
          const script = /\bnpm run (\S+)/.exec(build.args)?.[1];
          const command = script ? rootPackage.scripts?.[script] : build.args;
          assert.ok(command, `${path} runs \`npm run ${script}\` but package.json has no "${script}" script`);
          const projects = tscProjects(command) ?? assert.fail(`${command} is expected to be a \`tsc -b <projects>\` build`);
          projects.forEach(visit);

          const copied = chainOf(stages, build.stage)
            .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))
            .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
          for (const dir of compiled) assert.ok(copied.includes(dir), `${path} compiles ${dir} but does not COPY it first`);
          for (const file of extendsFiles) assert.ok(copied.includes(file), `the tsconfigs extend ${file} but ${path} does not COPY it`);
        }
        for (const name of [svc.name, 'shared']) assert.ok(compiled.has(name), `${path} does not compile ${name}`);
      });

      it('the image: production dependencies only, its dist and shared\'s, non-root, health check, starts src/main.ts\'s output', () => {
        const chain = chainOf(stages, image);
        const env = envOf(chain);

        assert.equal(env.get('NODE_ENV'), 'production');
        const install = chain.find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
        assert.ok(install, `${svc.name}: the runtime stage installs its dependencies with npm ci`);
        assert.match(install.args, /--omit=dev\b/, `${svc.name}: production dependencies only`);
        assert.match(install.args, new RegExp(`(--workspace[= ]|-w )${escapeRe(svc.name)}\\b`), `${svc.name}: only its workspace's dependencies`);

        const fromBuild = chain.filter((i) => i.keyword === 'COPY' && /--from=/.test(i.args)).map((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')));
        for (const pkg of ['shared', svc.name]) {
          assert.ok(
            fromBuild.some(([src]) => new RegExp(`(^|/)${escapeRe(pkg)}/dist(/src)?/?$`).test(src ?? '')),
            `${svc.name}: the runtime copies ${pkg}/dist from the build stage`,
          );
        }

        const user = last(chain, 'USER')?.args.split(':')[0];
        assert.ok(user, `${svc.name}: the runtime stage sets a USER`);
        assert.notEqual(user, 'root');
        assert.notEqual(user, '0');

        const health = last(chain, 'HEALTHCHECK');
        assert.ok(health && !/^NONE\b/i.test(health.args), `${svc.name}: a HEALTHCHECK`);
        const probe = execForm(health.args.replace(/^.*?\bCMD\s+/, ''), `${svc.name}'s HEALTHCHECK`);
        assert.equal(probe[0], 'node', `${svc.name}: the health check runs node itself (no curl or wget in the slim image)`);
        const script = probe.join(' ');
        assert.match(script, /\/healthz\b/);
        assert.match(script, new RegExp(`process\\.env\\.${svc.portVar}\\b`), `${svc.name}: the health check follows ${svc.portVar}`);
        assert.match(script, new RegExp(`\\b${svc.port}\\b`), `${svc.name}: the health check defaults to port ${svc.port}`);
        assert.equal(env.get(svc.portVar), String(svc.port), `${svc.name}: ENV ${svc.portVar}=${svc.port}`);
        assert.ok(
          chain.some((i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).includes(String(svc.port))),
          `${svc.name}: EXPOSE ${svc.port}`,
        );
        assert.equal(last(chain, 'STOPSIGNAL')?.args, 'SIGTERM');

        const cmd = execForm(last(chain, 'CMD')?.args ?? '', `${svc.name}'s CMD`);
        assert.deepEqual(cmd, ['node', `${svc.name}/dist/src/main.js`]);
        assert.ok(last(chain, 'WORKDIR'), `${svc.name}: a WORKDIR, which the relative CMD path starts from`);
        assert.ok(
          existsSync(join(root, svc.name, 'src', 'main.ts')),
          `${svc.name}/src/main.ts does not exist, so the image's CMD (${cmd.join(' ')}) would start nothing`,
        );
        const tsconfig = readJson<{ compilerOptions?: { rootDir?: string; outDir?: string } }>(`${svc.name}/tsconfig.json`);
        assert.deepEqual(
          [tsconfig.compilerOptions?.rootDir, tsconfig.compilerOptions?.outDir],
          ['.', 'dist'],
          `${svc.name}/tsconfig.json compiles src/main.ts to dist/src/main.js (rootDir ".", outDir "dist")`,
        );
        const pkg = readJson<PackageJson>(`${svc.name}/package.json`);
        assert.equal(pkg.scripts?.start, 'node dist/src/main.js', `${svc.name}'s npm start runs what the image runs`);
      });
    });
  }
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps installed, built and local state out of the build context', () => {
    for (const path of ['node_modules', 'shared/node_modules', 'shared/dist', 'runner-svc/dist', '.git', '.kafka-local', 'infra/kafka/target', 'bench/results']) {
      assert.ok(dockerignored(patterns, path), `.dockerignore lets ${path} into the build context`);
    }
  });

  it('ignores nothing a Dockerfile copies from the context', () => {
    for (const { path, stages } of dockerfiles.values()) {
      const sources = stages
        .flatMap((s) => s.instructions)
        .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !i.args.includes('--from'))
        .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1));
      assert.ok(sources.length > 0);
      for (const src of sources) {
        assert.ok(existsSync(join(root, src)), `${path} copies ${src}, which does not exist`);
        assert.ok(!dockerignored(patterns, src), `${path} copies ${src} but .dockerignore excludes it`);
      }
    }
    for (const src of ['shared/src/index.ts', ...SERVICES.map((s) => `${s.name}/src/main.ts`), 'system/tsconfig.json']) {
      assert.ok(!dockerignored(patterns, src), `.dockerignore excludes ${src}, which the build compiles`);
    }
  });
});

// ---------------------------------------------------------------------------------------

type Env = Record<string, string | number | boolean | null>;
interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; target?: string };
  command?: string[];
  environment?: Env;
  ports?: (string | { target?: number; published?: string | number })[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  restart?: string;
  stop_grace_period?: string;
  deploy?: { replicas?: number };
}

const composeText = read('docker-compose.yaml');
const compose = parseYaml(composeText, { merge: true }) as { services?: Record<string, ComposeService> };
const services = compose.services ?? {};
const svc = (name: string): ComposeService => services[name] ?? assert.fail(`docker-compose.yaml has no ${name} service`);

/** `[ip:]host[-host2]:container[-container2][/proto]` -> container port -> first host port. */
function publishedPorts(s: ComposeService): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of s.ports ?? []) {
    if (typeof p !== 'string') {
      if (p.target !== undefined && p.published !== undefined) out.set(p.target, Number(String(p.published).split('-')[0]));
      continue;
    }
    const parts = p.replace(/\/\w+$/, '').split(':');
    const container = Number(parts.at(-1)!.split('-')[0]);
    const host = parts.length >= 2 ? Number(parts.at(-2)!.split('-')[0]) : NaN;
    out.set(container, host);
  }
  return out;
}

const healthTest = (s: ComposeService) => {
  const t = s.healthcheck?.test;
  return Array.isArray(t) ? t.slice(1) : t === undefined ? [] : [t];
};

/** `30s`, `1m30s`, `500ms` -> ms. */
function durationMs(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return total;
}

/** The variables a service's config declares: keys of its zod schema and of the common one. */
function declaredVariables(service: string): string {
  return read(`${service}/src/config.ts`) + read('shared/src/common-config.ts');
}
const declares = (source: string, variable: string) => new RegExp(`^\\s*${escapeRe(variable)}\\s*:`, 'm').test(source);

describe('docker-compose.yaml', () => {
  it('runs MongoDB, Kafka and the three services, nothing else', () => {
    assert.deepEqual(Object.keys(services).sort(), ['kafka', 'mongo', ...SERVICES.map((s) => s.name)].sort());
  });

  it('MongoDB is a single-node replica set its health check initiates, named the way the services connect', () => {
    const mongo = svc('mongo');
    assert.match(mongo.image ?? '', /^mongo:7(\.|$)/);
    const cmd = mongo.command ?? [];
    const rs = cmd[cmd.indexOf('--replSet') + 1];
    assert.ok(cmd.includes('--replSet') && rs, 'mongod runs with --replSet <name>');
    assert.ok(cmd.includes('--bind_ip_all'));

    const test = healthTest(mongo);
    assert.ok(test.some((t) => /\bmongosh\b/.test(t)), 'the health check runs mongosh');
    const script = test.at(-1) ?? '';
    assert.match(script, /rs\.initiate\(/);
    assert.match(script, new RegExp(`_id:\\s*['"]${escapeRe(rs)}['"]`), `rs.initiate names the replica set ${rs}`);
    assert.match(script, /isWritablePrimary|PRIMARY/, 'healthy only once PRIMARY');
    assert.doesNotThrow(() => new Function(script), 'the mongosh --eval script is valid JavaScript');
    const member = /host:\s*['"]([^'"]+)['"]/.exec(script)?.[1];
    assert.ok(member, 'rs.initiate names its member host');

    for (const { name } of SERVICES) {
      const url = new URL(String(svc(name).environment?.MONGO_URL ?? assert.fail(`${name} has no MONGO_URL`)));
      assert.equal(url.host, member, `${name} connects to the member rs.initiate advertises`);
      assert.equal(url.searchParams.get('replicaSet'), rs, `${name}'s MONGO_URL names replicaSet=${rs}`);
    }
    const [container = '27017'] = /:(\d+)$/.exec(member)?.slice(1) ?? [];
    assert.ok(publishedPorts(mongo).has(Number(container)), 'MongoDB is published for start-deps.sh users');
  });

  it('Kafka 3.9 runs in KRaft combined mode, single node, with an internal listener the services use and a published host one', () => {
    const kafka = svc('kafka');
    assert.match(kafka.image ?? '', /^apache\/kafka:3\.9\./);
    const env = kafka.environment ?? {};
    const get = (k: string) => String(env[k] ?? assert.fail(`kafka: ${k} is not set`));
    assert.deepEqual(get('KAFKA_PROCESS_ROLES').split(',').sort(), ['broker', 'controller']);
    assert.ok(!Object.keys(env).some((k) => k.includes('ZOOKEEPER')), 'no ZooKeeper');

    const parseListeners = (v: string) =>
      new Map(v.split(',').map((l) => {
        const m = /^(\w+):\/\/([^:]*):(\d+)$/.exec(l.trim()) ?? assert.fail(`kafka: cannot read listener ${l}`);
        return [m[1]!, { host: m[2]!, port: Number(m[3]) }] as const;
      }));
    const listeners = parseListeners(get('KAFKA_LISTENERS'));
    const advertised = parseListeners(get('KAFKA_ADVERTISED_LISTENERS'));
    const protocols = new Map(get('KAFKA_LISTENER_SECURITY_PROTOCOL_MAP').split(',').map((p) => p.split(':') as [string, string]));
    const controller = get('KAFKA_CONTROLLER_LISTENER_NAMES');
    for (const name of listeners.keys()) assert.ok(protocols.has(name), `kafka: listener ${name} has a security protocol`);
    for (const name of advertised.keys()) assert.ok(listeners.has(name), `kafka: advertised listener ${name} is also a listener`);
    assert.ok(listeners.has(controller) && !advertised.has(controller), 'kafka: the controller listener is bound, not advertised');
    assert.ok(advertised.has(get('KAFKA_INTER_BROKER_LISTENER_NAME')), 'kafka: the inter-broker listener is advertised');
    const [voterId, voterHost] = get('KAFKA_CONTROLLER_QUORUM_VOTERS').split('@');
    assert.equal(voterId, get('KAFKA_NODE_ID'), 'kafka: this node is the only voter');
    assert.equal(Number(voterHost?.split(':')[1]), listeners.get(controller)?.port, 'kafka: the voter is this node\'s controller listener');
    for (const k of ['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR']) {
      assert.equal(get(k), '1', `kafka: ${k}=1 on a single node`);
    }

    const internal = [...advertised.values()].filter((l) => l.host === 'kafka').map((l) => `${l.host}:${l.port}`);
    for (const { name } of SERVICES) {
      const brokers = String(svc(name).environment?.KAFKA_BROKERS ?? assert.fail(`${name} has no KAFKA_BROKERS`));
      for (const b of brokers.split(',')) assert.ok(internal.includes(b), `${name}'s KAFKA_BROKERS ${b} is an advertised listener (${internal.join(', ')})`);
    }
    const published = publishedPorts(kafka);
    const external = [...advertised.values()].filter((l) => ['localhost', '127.0.0.1'].includes(l.host));
    assert.ok(external.length > 0, 'kafka advertises a listener for clients on the host');
    for (const l of external) assert.equal(published.get(l.port), l.port, `kafka publishes ${l.port} on the same host port it advertises`);

    const logDirs = get('KAFKA_LOG_DIRS');
    assert.ok((kafka.volumes ?? []).some((v) => v.split(':')[1] === logDirs), `kafka's log dir ${logDirs} is a volume, so data survives a new container`);
    const probe = healthTest(kafka).join(' ');
    assert.match(probe, /kafka-broker-api-versions\.sh/);
    const probePort = Number(/--bootstrap-server\s+[\w.-]+:(\d+)/.exec(probe)?.[1]);
    assert.ok([...listeners.values()].some((l) => l.port === probePort), 'the health check asks a port the broker listens on');
  });

  it('publishes no host port range (engines other than Docker refuse one)', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const p of service.ports ?? []) {
        const host = typeof p === 'string' ? p.replace(/\/\w+$/, '').split(':').slice(0, -1).at(-1) : String(p.published ?? '');
        assert.ok(!host?.includes('-'), `${name} publishes the host port range ${host}`);
      }
    }
  });

  const shutdownSource = read('shared/src/ops/lifecycle.ts');
  const drainMs = Number(/shutdownTimeoutMs\s*=\s*([\d_]+)/.exec(shutdownSource)?.[1]?.replace(/_/g, '') ?? NaN);

  for (const s of SERVICES) {
    it(`${s.name}: built from its own Dockerfile, started after healthy dependencies, given only variables it reads`, () => {
      const service = svc(s.name);
      assert.equal(service.build?.context, '.', `${s.name} builds with the repo root as context`);
      assert.equal(service.build?.dockerfile, dockerfileOf(s.name).path, `${s.name} builds from ${dockerfileOf(s.name).path}`);
      assert.equal(service.build?.target, undefined, `${s.name}: its Dockerfile's last stage is the image, no target to pick`);

      assert.deepEqual(service.depends_on, { mongo: { condition: 'service_healthy' }, kafka: { condition: 'service_healthy' } });
      assert.ok(service.restart && service.restart !== 'no', `${s.name} has a restart policy`);
      assert.ok(Number.isFinite(drainMs), 'shared/src/ops/lifecycle.ts no longer says `shutdownTimeoutMs = <ms>`: update this test');
      assert.ok(
        durationMs(service.stop_grace_period ?? '10s') > drainMs,
        `${s.name}: stop_grace_period must exceed the services' ${drainMs} ms drain, or SIGKILL cuts it short`,
      );

      const env = service.environment ?? {};
      const variables = declaredVariables(s.name);
      for (const variable of Object.keys(env)) {
        assert.ok(declares(variables, variable), `compose sets ${variable} for ${s.name}, but neither ${s.name}/src/config.ts nor shared/src/common-config.ts reads it`);
      }
      for (const required of ['MONGO_URL', 'KAFKA_BROKERS', s.portVar]) assert.ok(required in env, `compose sets ${required} for ${s.name}`);
      assert.equal(String(env[s.portVar]), String(s.port));
      const { stages, image } = dockerfileOf(s.name);
      assert.equal(envOf(chainOf(stages, image)).get(s.portVar), String(s.port), `the image and compose agree on ${s.portVar}`);
      if ((service.deploy?.replicas ?? 1) > 1) {
        // Replicas cannot share one host port, and engines other than Docker refuse a host port range.
        assert.equal(service.ports, undefined, `${s.name} runs ${service.deploy?.replicas} replicas: it publishes no port`);
      } else {
        assert.ok(publishedPorts(service).has(s.port), `${s.name} publishes container port ${s.port}`);
      }

      if (declares(variables, 'JWT_SECRET')) {
        assert.match(
          String(env.JWT_SECRET ?? ''),
          /^\$\{JWT_SECRET:\?[^}]+\}$/,
          `${s.name} reads JWT_SECRET: compose must take it from the host as \${JWT_SECRET:?message}, never a default`,
        );
      }
    });
  }

  it('follows the Compose Specification (the schema Compose v2 validates against, as bundled with dclint)', () => {
    /** The messages of dclint's schema check only; its style rules are not this project's. */
    const schemaErrors = (file: string): string[] => {
      const run = spawnSync(process.execPath, [join(root, 'node_modules', 'dclint', 'bin', 'dclint.cjs'), file, '-f', 'json'], { encoding: 'utf8' });
      const [report] = JSON.parse(run.stdout) as { messages: { rule: string; message: string }[] }[];
      return (report?.messages ?? []).filter((m) => m.rule === 'invalid-schema' || m.rule === 'invalid-yaml').map((m) => m.message);
    };
    assert.deepEqual(schemaErrors(join(root, 'docker-compose.yaml')), []);

    // The check itself can fail: a misspelt key is outside the schema.
    const dir = mkdtempSync(join(tmpdir(), 'compose-schema-'));
    try {
      const misspelt = join(dir, 'docker-compose.yaml');
      writeFileSync(misspelt, composeText.replace('stop_grace_period:', 'stop_grace_periode:'));
      assert.equal(schemaErrors(misspelt).length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is accepted by `docker compose config` (when Compose v2 is installed)', (t) => {
    const hasCompose = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
    if (!hasCompose) {
      t.skip('the docker CLI with the Compose v2 plugin is not installed; the checks above read the YAML directly');
      return;
    }
    const file = join(root, 'docker-compose.yaml');
    const ok = spawnSync('docker', ['compose', '-f', file, 'config', '-q'], { env: { ...process.env, JWT_SECRET: 'x'.repeat(32) }, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const { JWT_SECRET: _drop, ...withoutSecret } = process.env;
    const missing = spawnSync('docker', ['compose', '-f', file, 'config', '-q'], { env: withoutSecret, encoding: 'utf8' });
    assert.notEqual(missing.status, 0, 'compose refuses to run without JWT_SECRET');
    assert.match(missing.stderr, /JWT_SECRET/);
  });
});

// ---------------------------------------------------------------------------------------

/** Listens on 127.0.0.1:port unless something already does (either way, the port answers). */
async function answerOn(port: number): Promise<Server | undefined> {
  const server = createServer((socket) => socket.end());
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Runs start-deps.sh with a fake `docker` first on PATH; `states` is what `docker inspect` says, in turn. */
async function runStartDeps(states: string[], timeoutS = 20) {
  const dir = mkdtempSync(join(tmpdir(), 'start-deps-'));
  try {
    writeFileSync(join(dir, 'states'), `${states.join('\n')}\n`);
    writeFileSync(
      join(dir, 'docker'),
      `#!/usr/bin/env bash
# A stand-in for the docker CLI: logs each call, answers what start-deps.sh asks.
printf '%s JWT_SECRET=%s\\n' "$*" "\${JWT_SECRET-<unset>}" >> "$FAKE_DIR/calls"
if [ "$1" = inspect ]; then
  n=$(( $(cat "$FAKE_DIR/n" 2> /dev/null || echo 0) + 1 )); echo "$n" > "$FAKE_DIR/n"
  line=$(sed -n "\${n}p" "$FAKE_DIR/states"); [ -n "$line" ] || line=$(tail -n 1 "$FAKE_DIR/states")
  echo "$line"; exit 0
fi
case " $* " in
  *" ps "*) echo "container-of-\${*: -1}" ;;
  *" logs "*) echo "last lines of \${*: -1}" ;;
esac
exit 0
`,
    );
    chmodSync(join(dir, 'docker'), 0o755);
    const child = spawn('bash', [join(root, 'start-deps.sh')], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, FAKE_DIR: dir, DEPS_TIMEOUT: String(timeoutS), JWT_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { status, stdout, stderr, calls: readFileSync(join(dir, 'calls'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('start-deps.sh', () => {
  const text = read('start-deps.sh');

  it('is an executable bash script with strict mode that parses', () => {
    assert.ok(statSync(join(root, 'start-deps.sh')).mode & 0o111, 'start-deps.sh is executable');
    assert.match(text, /^#!\/usr\/bin\/env bash\n/);
    assert.match(text, /^set -euo pipefail$/m);
    const syntax = spawnSync('bash', ['-n', join(root, 'start-deps.sh')], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
  });

  it('is clean under shellcheck (when installed)', (t) => {
    if (spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status !== 0) {
      t.skip('shellcheck is not installed (apt-get install shellcheck)');
      return;
    }
    const r = spawnSync('shellcheck', [join(root, 'start-deps.sh')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('starts only mongo and kafka, waits until both are healthy and answer, and prints the variables for the host', async () => {
    const mongoHostPort = publishedPorts(svc('mongo')).get(27017) ?? assert.fail('mongo publishes 27017');
    const kafkaExternal = /EXTERNAL:\/\/([^,]+)/.exec(String(svc('kafka').environment?.KAFKA_ADVERTISED_LISTENERS))?.[1];
    const kafkaHostPort = Number(kafkaExternal?.split(':')[1]);
    const listening = await Promise.all([answerOn(mongoHostPort), answerOn(kafkaHostPort)]);
    try {
      const run = await runStartDeps(['running starting', 'running healthy', 'running starting', 'running healthy']);
      assert.equal(run.status, 0, run.stderr);
      const ups = run.calls.split('\n').filter((c) => / up /.test(c));
      assert.equal(ups.length, 1, `one docker compose up:\n${run.calls}`);
      assert.match(ups[0]!, /^compose -f \S+docker-compose\.yaml up -d mongo kafka JWT_SECRET=/, 'docker compose up -d mongo kafka, nothing else');
      for (const call of run.calls.split('\n').filter((c) => c.startsWith('compose -f '))) {
        assert.match(call, /JWT_SECRET=\S+$/, `compose interpolates the whole file, so start-deps.sh passes a JWT_SECRET placeholder: ${call}`);
      }
      assert.match(run.stderr, /mongo is healthy[\s\S]*kafka is healthy/);

      const vars = new Map([...run.stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
      assert.deepEqual([...vars.keys()].sort(), ['KAFKA_BROKERS', 'MONGO_URL'], `stdout is only eval-able exports:\n${run.stdout}`);
      const mongoUrl = new URL(vars.get('MONGO_URL')!);
      assert.equal(mongoUrl.port, String(mongoHostPort));
      const rs = svc('mongo').command?.[(svc('mongo').command ?? []).indexOf('--replSet') + 1];
      assert.equal(mongoUrl.searchParams.get('replicaSet'), rs);
      assert.equal(mongoUrl.searchParams.get('directConnection'), 'true', 'the replica set member is named for the compose network; the host connects directly');
      assert.equal(vars.get('KAFKA_BROKERS'), kafkaExternal, 'the host-facing listener Kafka advertises');
    } finally {
      await Promise.all(listening.map((s) => s && new Promise((r) => s.close(r))));
    }
  });

  it('fails fast, with the container\'s logs, when a dependency dies', async () => {
    const run = await runStartDeps(['exited none']);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /mongo is not ready: container is 'exited none'/);
    assert.match(run.stderr, /last lines of mongo/);
    assert.equal(run.stdout, '', 'nothing to eval after a failure');
  });

  it('gives up after DEPS_TIMEOUT with a clear error', async () => {
    const run = await runStartDeps(['running starting'], 3);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /still 'running starting' after 3s \(DEPS_TIMEOUT\)/);
  });
});

describe('scripts/images.sh and its helpers', () => {
  const scripts = [
    'scripts/images.sh',
    'scripts/images/make-base-image.sh',
    'scripts/images/setup-podman.sh',
    'scripts/images/postgres/entrypoint.sh',
    'scripts/images/kafka/bin/kafka-run-class.sh',
    'scripts/images/kafka/bin/kafka-storage.sh',
    'scripts/images/kafka/bin/kafka-server-start.sh',
  ];

  it('are executable scripts that parse', () => {
    for (const script of scripts) {
      assert.ok(statSync(join(root, script)).mode & 0o111, `${script} is executable`);
      const shell = /^#!\/(?:usr\/bin\/env |bin\/)(\w+)/.exec(read(script))?.[1] ?? assert.fail(`${script} has no #! line`);
      const syntax = spawnSync(shell, ['-n', join(root, script)], { encoding: 'utf8' });
      assert.equal(syntax.status, 0, `${script}: ${syntax.stderr}`);
    }
  });

  it('are clean under shellcheck (when installed)', (t) => {
    if (spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status !== 0) {
      t.skip('shellcheck is not installed (apt-get install shellcheck)');
      return;
    }
    const r = spawnSync('shellcheck', scripts.map((s) => join(root, s)), { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('images.sh names its commands when given none', () => {
    const r = spawnSync('bash', [join(root, 'scripts/images.sh')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    for (const command of ['base', 'build', 'smoke', 'test-images', 'dockerfiles']) assert.match(r.stderr, new RegExp(`scripts/images\\.sh ${command}\\b`));
  });
});
