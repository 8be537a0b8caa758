// Offline migrator: applies prisma/migrations/<ts>_<name>/migration.sql in order and records them in
// `_prisma_migrations` exactly as Prisma's schema engine does, so `prisma migrate deploy` on a
// connected machine sees the same history. No engine binary and no network needed.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** the advisory lock key Prisma's schema engine takes while migrating PostgreSQL */
export const PRISMA_ADVISORY_LOCK = 72707369;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

export type MigrationErrorCode = 'MIGRATION_FAILED' | 'MIGRATION_MODIFIED' | 'MIGRATION_PREVIOUSLY_FAILED';

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    readonly migration: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${migration}: ${message}`, options);
    this.name = 'MigrationError';
  }
}

export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 hex of the file, as Prisma computes it */
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

// Prisma's own definition (schema-engine, sql-migration-connector, postgres flavour).
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** Applies pending migrations; safe to call from several processes at once (advisory lock). */
export async function migrate(url: string, dir: string = MIGRATIONS_DIR): Promise<{ applied: string[] }> {
  const migrations = await readMigrations(dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<AppliedRow>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`,
      );
      const done = new Map<string, AppliedRow>();
      for (const row of rows) {
        if (row.finished_at === null && row.rolled_back_at === null) {
          throw new MigrationError(
            'MIGRATION_PREVIOUSLY_FAILED',
            row.migration_name,
            'a previous attempt failed; resolve it with `prisma migrate resolve` first',
          );
        }
        if (row.rolled_back_at === null) done.set(row.migration_name, row);
      }
      const applied: string[] = [];
      for (const m of migrations) {
        const previous = done.get(m.name);
        if (previous) {
          if (previous.checksum !== m.checksum) {
            throw new MigrationError('MIGRATION_MODIFIED', m.name, 'was changed after it was applied');
          }
          continue;
        }
        await applyOne(client, m);
        applied.push(m.name);
      }
      return { applied };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]);
    }
  } finally {
    await client.end();
  }
}

async function applyOne(client: pg.Client, m: MigrationFile): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
       VALUES ($1, $2, $3, now(), 0)`,
      [id, m.checksum, m.name],
    );
    await client.query(m.sql);
    await client.query(`UPDATE "_prisma_migrations" SET "finished_at" = clock_timestamp(), "applied_steps_count" = 1 WHERE "id" = $1`, [
      id,
    ]);
    await client.query('COMMIT');
  } catch (cause) {
    await client.query('ROLLBACK');
    throw new MigrationError('MIGRATION_FAILED', m.name, (cause as Error).message, { cause });
  }
}
