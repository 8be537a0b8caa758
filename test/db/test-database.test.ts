import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('createTestDatabase', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
  });

  it('gives each caller its own migrated database', async () => {
    expect(a.url).not.toBe(b.url);
    await a.prisma.dataset.create({ data: { name: 'only-in-a', kind: 'SYNTHETIC' } });
    expect(await a.prisma.dataset.count()).toBe(1);
    expect(await b.prisma.dataset.count()).toBe(0);
    const migrations = await b.prisma.$queryRaw<{ migration_name: string }[]>`SELECT migration_name FROM _prisma_migrations`;
    expect(migrations.length).toBeGreaterThan(0);
  });

  it('drop() removes the database even with other connections open', async () => {
    const extra = await createTestDatabase();
    const client = new pg.Client({ connectionString: extra.url });
    client.on('error', () => undefined); // terminated by DROP ... WITH (FORCE)
    await client.connect();
    await extra.drop();
    const admin = new pg.Client({ connectionString: a.url });
    await admin.connect();
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [new URL(extra.url).pathname.slice(1)]);
    await admin.end();
    expect(rowCount).toBe(0);
  });
});
