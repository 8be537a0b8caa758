// `npm run db:migrate`: applies committed migrations to DATABASE_URL or the embedded Postgres.
import { loadConfig } from '../config/index.ts';
import { startDatabase } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const db = await startDatabase(config);
  try {
    const { applied } = await migrate(db.url);
    const where = db.embedded ? `embedded Postgres (${config.paths.postgres})` : 'DATABASE_URL';
    console.log(applied.length ? `applied ${applied.join(', ')} to ${where}` : `${where} is up to date`);
  } finally {
    await db.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
  process.exitCode = 1;
});
