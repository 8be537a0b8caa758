// Runs `prisma generate` so that it also works offline.
// Prisma 7's CLI wants its native schema engine even for `generate`, which only needs the
// query compiler shipped in npm packages. Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing
// file lets generate run without a download. This variable is set for generate only: with it,
// migrate commands silently do nothing (see src/db/migrate.ts for the offline migrator).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let cli;
try {
  cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
} catch {
  console.log('[prisma-generate] prisma is not installed yet; skipping');
  process.exit(0);
}
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const r = spawnSync(process.execPath, [cli, 'generate'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
