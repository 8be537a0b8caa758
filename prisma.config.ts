import { defineConfig } from 'prisma/config';

// DATABASE_URL is only needed by `prisma migrate deploy` / `prisma studio` on a connected
// machine; the app itself resolves its database in src/db (embedded Postgres when unset).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/glimpse' },
});
