import { existsSync } from 'node:fs';
import { findContainerEngine, startKafka, startMongo, startPostgres, type TestServer } from './containers.js';

/**
 * Test tiers that need an outside server. Each returns the connection to use, or a skip
 * reason naming the variable to set. With `REQUIRE_<TIER>=1` (CI) a missing server is an
 * error instead of a skip, so a tier can never pass by not running.
 *
 * Where no URL is given, the test runner (scripts/run-tests.mjs) first calls
 * `startTierServers`, which starts the missing servers with a container engine when one
 * answers and hands their URLs to the test processes in the same variables.
 */
export interface Tier {
  url?: string;
  skip?: string;
}

/** The tiers a container can serve. */
type TierName = 'POSTGRES' | 'KAFKA' | 'MONGO';

/** Set by `startTierServers` when the engine answered but could not start a tier's server. */
const unavailableVariable = (name: TierName | 'BROWSER') => `${name}_TIER_UNAVAILABLE`;

function tier(name: TierName | 'BROWSER', url: string | undefined, howTo: string): Tier {
  if (url) return { url };
  const unavailable = process.env[unavailableVariable(name)];
  const reason = unavailable ? `${unavailable}; ${howTo}` : howTo;
  if (process.env[`REQUIRE_${name}`] === '1') {
    throw new Error(`REQUIRE_${name}=1 but the ${name.toLowerCase()} tier has no server: ${reason}`);
  }
  return { skip: `${name.toLowerCase()} tier skipped: ${reason}` };
}

const withEngine = 'or run the tests through `npm test` where Docker or Podman answers, which starts one';

export const kafkaTier = (): Tier =>
  tier('KAFKA', process.env.KAFKA_BROKERS, `set KAFKA_BROKERS, ${withEngine}, or install Java and Maven so npm test starts a local broker`);

export const postgresTier = (): Tier =>
  tier('POSTGRES', process.env.DATABASE_URL, `set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test), ${withEngine}`);

export const mongoTier = (): Tier =>
  tier(
    'MONGO',
    process.env.MONGO_URL ?? (process.env.MONGOMS_SYSTEM_BINARY ? 'memory-server' : undefined),
    `set MONGO_URL (a replica set) or MONGOMS_SYSTEM_BINARY (a mongod binary for mongodb-memory-server), ${withEngine}`,
  );

interface TierServerSpec {
  name: TierName;
  /** The variable the tier reads its server from. */
  variable: string;
  /** Whether the environment already gives the tier a server. */
  given(env: NodeJS.ProcessEnv): boolean;
  /** The image to start, replaceable through `imageVariable` (e.g. by one made locally: scripts/images.sh test-images). */
  defaultImage: string;
  imageVariable: string;
}

const TIER_SERVERS: readonly TierServerSpec[] = [
  { name: 'POSTGRES', variable: 'DATABASE_URL', given: (env) => !!env.DATABASE_URL, defaultImage: 'postgres:15-alpine', imageVariable: 'TEST_POSTGRES_IMAGE' },
  { name: 'KAFKA', variable: 'KAFKA_BROKERS', given: (env) => !!env.KAFKA_BROKERS, defaultImage: 'apache/kafka:3.9.1', imageVariable: 'TEST_KAFKA_IMAGE' },
  {
    name: 'MONGO',
    variable: 'MONGO_URL',
    given: (env) => !!(env.MONGO_URL || env.MONGOMS_SYSTEM_BINARY),
    defaultImage: 'mongo:7',
    imageVariable: 'TEST_MONGO_IMAGE',
  },
];
const imageOf = (spec: TierServerSpec, env: NodeJS.ProcessEnv) => env[spec.imageVariable] || spec.defaultImage;

const DEFAULT_STARTERS: Record<TierName, (image: string) => Promise<TestServer>> = {
  POSTGRES: startPostgres,
  KAFKA: startKafka,
  MONGO: startMongo,
};

export interface TierServerOptions {
  /** Read for the servers given, and given the started servers' URLs. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Describes the container engine that answers, or undefined when none does. Default: testcontainers' own search. */
  findEngine?: () => Promise<string | undefined>;
  /** Starts a tier's server from an image. Default: testcontainers. */
  starters?: Partial<Record<TierName, (image: string) => Promise<TestServer>>>;
  log?: (line: string) => void;
}

export interface TierServers {
  /** The variables set in `env`: the started servers' URLs, and why a tier still has none. */
  readonly set: Record<string, string>;
  /** Stops every server started. */
  stop(): Promise<void>;
}

/**
 * For each tier whose server the environment does not give, starts one with the container
 * engine, if one answers, and sets the tier's variable to it. A server that cannot be started
 * (an image no registry serves, say) leaves its tier skipped with a message that says why.
 */
export async function startTierServers(options: TierServerOptions = {}): Promise<TierServers> {
  const { env = process.env, findEngine = findContainerEngine, log = (line) => console.error(line) } = options;
  const starters = { ...DEFAULT_STARTERS, ...options.starters };
  const set: Record<string, string> = {};
  const started: TestServer[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((server) => server.stop()));
  };

  const missing = TIER_SERVERS.filter((spec) => !spec.given(env));
  if (missing.length === 0) return { set, stop };
  const engine = await findEngine();
  if (!engine) {
    log(`test tiers: no container engine answers; ${missing.map((s) => s.variable).join(', ')} not set`);
    return { set, stop };
  }

  log(`test tiers: starting ${missing.map((spec) => `${imageOf(spec, env)} for ${spec.variable}`).join(', ')} with the ${engine}`);
  await Promise.all(
    missing.map(async (spec) => {
      const image = imageOf(spec, env);
      const startedAt = Date.now();
      try {
        const server = await starters[spec.name](image);
        started.push(server);
        set[spec.variable] = server.url;
        log(`test tiers: ${spec.variable}=${server.url} (${image}, up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
      } catch (err) {
        const firstLine = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
        set[unavailableVariable(spec.name)] = `the container engine could not start ${image}: ${firstLine.trim()}; ${spec.imageVariable} names another image`;
        log(`test tiers: ${spec.variable} stays unset: ${set[unavailableVariable(spec.name)]}`);
      }
    }),
  );
  Object.assign(env, set);
  return { set, stop };
}
/** A Chromium for the dashboard's browser tests: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export const browserTier = (): Tier => {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return tier('BROWSER', existsSync(path) ? path : undefined, `install Chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
};
