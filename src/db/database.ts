// Resolves the database the app uses: DATABASE_URL when set, otherwise the embedded cluster
// under <dataDir>/postgres (started, or attached to when another process already runs it).
import pg from 'pg';
import type { Config } from '../config/index.ts';
import { startEmbeddedPostgres } from './embedded/index.ts';

export const EMBEDDED_DATABASE = 'glimpse';

export interface Database {
  url: string;
  embedded: boolean;
  /** stops the embedded server when this process started it; otherwise does nothing */
  stop(): Promise<void>;
}

export interface DatabaseOptions {
  /** false: embedded cluster without fsync (tests). Default true */
  durable?: boolean;
}

export async function startDatabase(
  config: Pick<Config, 'databaseUrl' | 'paths' | 'embeddedPgPort'>,
  options: DatabaseOptions = {},
): Promise<Database> {
  if (config.databaseUrl !== undefined) {
    return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  }
  const cluster = await startEmbeddedPostgres({
    dir: config.paths.postgres,
    preferredPort: config.embeddedPgPort,
    durable: options.durable,
  });
  const server = `postgresql://${cluster.user}:${cluster.password}@127.0.0.1:${cluster.port}`;
  try {
    await ensureDatabase(`${server}/postgres`, EMBEDDED_DATABASE);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return { url: `${server}/${EMBEDDED_DATABASE}`, embedded: true, stop: cluster.stop };
}

/** CREATE DATABASE unless it exists; tolerates another process creating it at the same time. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((e: { code?: string }) => {
      // 42P04 duplicate_database, 23505 unique_violation (concurrent CREATE DATABASE)
      if (e.code !== '42P04' && e.code !== '23505') throw e;
    });
  } finally {
    await client.end();
  }
}
