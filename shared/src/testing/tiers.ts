import { existsSync } from 'node:fs';
/**
 * Test tiers that need an outside server. Each returns the connection to use, or a skip
 * reason naming the variable to set. With `REQUIRE_<TIER>=1` (CI) a missing server is an
 * error instead of a skip, so a tier can never pass by not running.
 */
export interface Tier {
  url?: string;
  skip?: string;
}

function tier(name: string, url: string | undefined, howTo: string): Tier {
  if (url) return { url };
  if (process.env[`REQUIRE_${name}`] === '1') {
    throw new Error(`REQUIRE_${name}=1 but the ${name.toLowerCase()} tier has no server: ${howTo}`);
  }
  return { skip: `${name.toLowerCase()} tier skipped: ${howTo}` };
}

export const kafkaTier = (): Tier =>
  tier('KAFKA', process.env.KAFKA_BROKERS, 'set KAFKA_BROKERS, or install Java and Maven so npm test starts a local broker');

export const postgresTier = (): Tier =>
  tier('POSTGRES', process.env.DATABASE_URL, 'set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');

export const mongoTier = (): Tier =>
  tier(
    'MONGO',
    process.env.MONGO_URL ?? (process.env.MONGOMS_SYSTEM_BINARY ? 'memory-server' : undefined),
    'set MONGO_URL (a replica set) or MONGOMS_SYSTEM_BINARY (a mongod binary for mongodb-memory-server)',
  );

/** A Chromium for the dashboard's browser tests: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export const browserTier = (): Tier => {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return tier('BROWSER', existsSync(path) ? path : undefined, `install Chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
};
