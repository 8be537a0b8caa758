import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate, readMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { TEST_DB_PREFIX } from '../helpers/db-server.ts';

/** Prisma's schema engine (wasm), instantiated by hand: its entry imports a .wasm file as ESM. */
async function schemaEngineDiffFromEmpty(schemaPath: string, url: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const bytes = await readFile(join(dirname(bgPath), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();

  const content = await readFile(schemaPath, 'utf8');
  const files = [{ path: 'schema.prisma', content }];
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: url }));
  const engine = await bg.SchemaEngine.new({ datamodels: [['schema.prisma', content]] }, () => undefined, adapter);
  try {
    const result = await engine.diff({
      from: { tag: 'empty' },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.stdout ?? '';
  } finally {
    engine.free();
  }
}

/** everything Prisma's schema maps to, in a form independent of creation order */
async function catalog(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async (sql: string) => (await client.query(sql)).rows;
    return {
      enums: await q(`SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' GROUP BY t.typname ORDER BY t.typname`),
      columns: await q(`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,
          datetime_precision, character_maximum_length
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
        ORDER BY table_name, column_name`),
      constraints: await q(`SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype,
          pg_get_constraintdef(c.oid) AS definition
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.conrelid <> 0 AND c.conrelid::regclass::text <> '_prisma_migrations'
        ORDER BY 1, 2`),
      indexes: await q(`SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1, 2`),
    };
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  let migrated: TestDatabase;
  beforeAll(async () => {
    migrated = await createTestDatabase();
  });
  afterAll(async () => {
    await migrated?.drop();
  });

  async function withScratchDatabase(fn: (url: string) => Promise<void>): Promise<void> {
    const name = `${TEST_DB_PREFIX}${Math.floor(Date.now() / 1000)}_scratch_${process.pid}`;
    const admin = new pg.Client({ connectionString: migrated.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(migrated.url);
    url.pathname = `/${name}`;
    try {
      await fn(url.toString());
    } finally {
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  }

  it('produce exactly the database Prisma derives from schema.prisma', async () => {
    const script = await schemaEngineDiffFromEmpty(join(MIGRATIONS_DIR, '..', 'schema.prisma'), migrated.url);
    expect(script).toContain('CREATE TABLE "TrainingRun"');
    await withScratchDatabase(async (fromSchema) => {
      const client = new pg.Client({ connectionString: fromSchema });
      await client.connect();
      await client.query(script);
      await client.end();
      expect(await catalog(migrated.url)).toEqual(await catalog(fromSchema));
    });
  });

  it('are recorded the way Prisma records them', async () => {
    const files = await readMigrations();
    const rows = await migrated.prisma.$queryRaw<
      {
        id: string;
        checksum: string;
        migration_name: string;
        finished_at: Date | null;
        applied_steps_count: number;
        rolled_back_at: Date | null;
      }[]
    >`SELECT * FROM _prisma_migrations ORDER BY migration_name`;
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    for (const [i, row] of rows.entries()) {
      const sql = await readFile(join(MIGRATIONS_DIR, files[i]!.name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    expect(await migrate(migrated.url)).toEqual({ applied: [] });
  });

  it('number the models that exist before the registry per name, in order of creation (20261207200100_model_registry)', async () => {
    const registry = '20261207200100_model_registry';
    const before = join(process.cwd(), 'test', '.tmp', `migrations-before-registry-${process.pid}`);
    try {
      for (const { name } of (await readMigrations()).filter((m) => m.name < registry)) {
        await mkdir(join(before, name), { recursive: true });
        await writeFile(join(before, name, 'migration.sql'), await readFile(join(MIGRATIONS_DIR, name, 'migration.sql')));
      }
      await withScratchDatabase(async (url) => {
        await migrate(url, before);
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          // created out of order: the versions follow createdAt, not insertion
          const rows: [string, string, string][] = [
            ['b', 'captioner', '2026-01-03'],
            ['a', 'captioner', '2026-01-01'],
            ['c', 'other', '2026-01-02'],
            ['d', 'captioner', '2026-01-02'],
          ];
          for (const [id, name, createdAt] of rows) {
            await client.query(`INSERT INTO "Model" (id, name, "vocabSize", config, "createdAt") VALUES ($1, $2, 10, '{}', $3)`, [
              id,
              name,
              createdAt,
            ]);
          }
          expect((await migrate(url)).applied).toContain(registry);
          const versions = await client.query(`SELECT id, version FROM "Model" ORDER BY id`);
          expect(versions.rows).toEqual([
            { id: 'a', version: 1 },
            { id: 'b', version: 3 },
            { id: 'c', version: 1 },
            { id: 'd', version: 2 },
          ]);
          // the next registration continues each name's count
          const next = await client.query(
            `INSERT INTO "Model" (id, name, "vocabSize", config) VALUES ('e', 'captioner', 10, '{}') RETURNING version`,
          );
          expect(next.rows[0].version).toBe(4);
        } finally {
          await client.end();
        }
      });
    } finally {
      await rm(before, { recursive: true, force: true });
    }
  });

  describe('with a migrations folder of their own', () => {
    const dir = join(process.cwd(), 'test', '.tmp', `migrations-${process.pid}`);
    const write = async (name: string, sql: string) => {
      await mkdir(join(dir, name), { recursive: true });
      await writeFile(join(dir, name, 'migration.sql'), sql);
    };
    beforeAll(() => write('20250101000000_a', 'CREATE TABLE a (id int PRIMARY KEY);\n'));
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('apply once even when several processes migrate at the same time', async () => {
      await withScratchDatabase(async (url) => {
        const results = await Promise.all([migrate(url, dir), migrate(url, dir), migrate(url, dir)]);
        expect(results.flatMap((r) => r.applied)).toEqual(['20250101000000_a']);
      });
    });

    it('roll back a failing migration completely and report it', async () => {
      await write('20250102000000_b', 'CREATE TABLE b (id int);\nSELECT 1/0;\n');
      await withScratchDatabase(async (url) => {
        await expect(migrate(url, dir)).rejects.toMatchObject({ code: 'MIGRATION_FAILED', migration: '20250102000000_b' });
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        const names = (await client.query('SELECT migration_name FROM _prisma_migrations')).rows.map((r) => r.migration_name);
        const b = await client.query(`SELECT to_regclass('b') AS t`);
        await client.end();
        expect(names).toEqual(['20250101000000_a']);
        expect(b.rows[0].t).toBeNull();
      });
      await rm(join(dir, '20250102000000_b'), { recursive: true });
    });

    it('refuse to continue when an applied migration was edited', async () => {
      await withScratchDatabase(async (url) => {
        await migrate(url, dir);
        await write('20250101000000_a', 'CREATE TABLE a (id bigint PRIMARY KEY);\n');
        await expect(migrate(url, dir)).rejects.toMatchObject({ code: 'MIGRATION_MODIFIED' });
      });
    });
  });
});
