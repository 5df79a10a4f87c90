import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A schema name no other test process uses (`<prefix>_<pid>_<random>`): a PostgreSQL test
 * keeps its tables in one of its own, so that runs side by side never see each other's rows.
 */
export function uniqueSchemaName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** Drops the given schemas and everything in them, over a connection of its own. */
export async function dropSchemas(url: string, ...schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
