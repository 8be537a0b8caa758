// Per-test-file database: a clone of the migrated template (see test/global-setup.ts).
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createPrisma, type PrismaClient } from '../../src/db/client.ts';
import { cloneDatabase, dropDatabase, ensureTemplate, startAdminServer, TEST_DB_PREFIX } from './db-server.ts';

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  /** disconnects the Prisma client and drops the database (other connections are terminated) */
  drop(): Promise<void>;
}

async function server(): Promise<{ adminUrl: string; template: string }> {
  if (inject('tier') === 'unit') {
    throw new Error('a test in the unit tier asked for a database: list its file under DATABASE (or SLOW) in test/tiers.ts');
  }
  const provided = inject('testDatabase');
  if (provided) return provided;
  // globalSetup not configured: resolve the server here (no embedded fallback without it)
  const { adminUrl, server: started } = await startAdminServer();
  if (started) {
    await started.stop();
    throw new Error('no Postgres for tests: add test/global-setup.ts to vitest globalSetup or set TEST_DATABASE_URL');
  }
  return { adminUrl, template: await ensureTemplate(adminUrl) };
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl, template } = await server();
  const name = `${TEST_DB_PREFIX}${Math.floor(Date.now() / 1000)}_${randomBytes(5).toString('hex')}`;
  const url = await cloneDatabase(adminUrl, template, name);
  const prisma = createPrisma(url, { max: 5 });
  return {
    url,
    prisma,
    drop: async () => {
      await prisma.$disconnect();
      await dropDatabase(adminUrl, name);
    },
  };
}
