// The Postgres server tests run against, and the migrated template every test database is cloned
// from. Used by test/global-setup.ts (once per run) and test/helpers/db.ts (per test file).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.ts';
import { type Database, ensureDatabase, startDatabase } from '../../src/db/database.ts';
import { migrate, readMigrations } from '../../src/db/migrate.ts';

export const LOCAL_TEST_URL = 'postgresql://postgres@127.0.0.1:5432/test';
/** test databases are named gt_<unix seconds>_<random>; older leftovers of crashed runs are dropped */
export const TEST_DB_PREFIX = 'gt_';
const TEMPLATE_LOCK = 72707370;
const LEFTOVER_AGE_S = 6 * 3600;

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function reachable(url: string): Promise<boolean> {
  return withClient(url, async () => true).catch(() => false);
}

/** TEST_DATABASE_URL, else the local server on :5432, else an embedded Postgres for this run. */
export async function startAdminServer(): Promise<{ adminUrl: string; server?: Database }> {
  const fromEnv = process.env.TEST_DATABASE_URL;
  if (fromEnv) return { adminUrl: fromEnv };
  if (await reachable(LOCAL_TEST_URL)) return { adminUrl: LOCAL_TEST_URL };
  const config = loadConfig({ GLIMPSE_DATA_DIR: join(process.cwd(), 'test', '.tmp', 'embedded'), GLIMPSE_PG_PORT: '5434' });
  const server = await startDatabase(config, { durable: false });
  return { adminUrl: server.url, server };
}

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Creates (once; shared by concurrent runs) a database with all migrations applied, named after
 * the migrations' checksums so that changing a migration gives a new template.
 */
export async function ensureTemplate(adminUrl: string): Promise<string> {
  const migrations = await readMigrations();
  const digest = createHash('sha256')
    .update(migrations.map((m) => `${m.name}:${m.checksum}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const template = `glimpse_template_${digest}`;
  await withClient(adminUrl, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (rowCount) return;
      // build under a temporary name and rename: a template that exists is always complete
      const building = `${template}_building`;
      await client.query(`DROP DATABASE IF EXISTS ${building}`);
      await ensureDatabase(adminUrl, building);
      await migrate(databaseUrl(adminUrl, building));
      await client.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  return template;
}

/** Drops test databases left behind by runs that crashed hours ago. */
export async function dropLeftovers(adminUrl: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB_PREFIX}%'`);
    const cutoff = Date.now() / 1000 - LEFTOVER_AGE_S;
    for (const { datname } of rows) {
      const created = Number(datname.split('_')[1]);
      if (created < cutoff) await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  });
}

export async function cloneDatabase(adminUrl: string, template: string, name: string): Promise<string> {
  await withClient(adminUrl, (client) =>
    client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(template)}`),
  );
  return databaseUrl(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
}
