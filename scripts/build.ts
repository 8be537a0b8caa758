// npm run build: the production build, run with plain node (`node dist/main.js [api|worker]`, package.json
// "main"; the same environment and modes as `npm start`).
//  1. the Prisma client (src/db/generated, written by postinstall) when it is missing;
//  2. tsc -p tsconfig.build.json: src/ → dist/ with `.ts` imports rewritten to `.js`. rootDir is src, so
//     every module sits as deep under dist/ as under src/ and paths relative to a module resolve to the
//     same repository files: prisma/migrations (src/db/migrate.ts), native/build (the addon),
//     package.json (serverInfo.version). The worker entry follows the extension (src/process/supervisor.ts);
//  3. the browser files: the dashboard and the on-device captioner (src/web/device.ts, with TF.js's wasm files)
//     bundled by esbuild and GraphiQL split into hashed files, with their
//     gzipped copies and a manifest, in dist/web/assets/ (src/web/prebuilt.ts reads them).
// esbuild, tsx and TypeScript are needed here only: afterwards `npm prune --omit=dev` may remove them.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { saveAssets } from '../src/web/asset.ts';
import { bundleDashboard } from '../src/web/dashboard.ts';
import { bundleDevice } from '../src/web/device.ts';
import { buildIdeAssets, ideAssetsByRole } from '../src/web/ide/assets.ts';

const ROOT = join(import.meta.dirname, '..');
/** tsconfig.build.json's outDir */
const OUT = join(ROOT, 'dist');
/** src/web/prebuilt.ts's PREBUILT_DIR as the compiled dist/web/prebuilt.js sees it */
const ASSETS = join(OUT, 'web', 'assets');

const require = createRequire(import.meta.url);

function run(step: string, args: string[]): void {
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`[build] ${step} failed (${result.error?.message ?? `exit status ${result.status}`})`);
    process.exit(1);
  }
  console.log(`[build] ${step}: ${Date.now() - started} ms`);
}

rmSync(OUT, { recursive: true, force: true }); // no file of an earlier build (a deleted module) survives
if (!existsSync(join(ROOT, 'src/db/generated/client.ts'))) run('prisma generate', ['scripts/prisma-generate.mjs']);
run('tsc', [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);

const started = Date.now();
await saveAssets(ASSETS, { dashboard: await bundleDashboard(), ...ideAssetsByRole(await buildIdeAssets()), ...(await bundleDevice()) });
console.log(`[build] browser files in ${ASSETS}: ${Date.now() - started} ms`);
