// The production build as docs/deployment.md runs it, from a clean clone of this repository's HEAD
// (committed work only; on CI that is the clone under test):
//   npm ci && npm run build && npm prune --omit=dev && node "$(node -p 'require("./package.json").main')"
// With the dev dependencies gone (esbuild, tsx, vitest, the GraphiQL package), the compiled process must
// apply the migrations to an empty database (prisma/migrations found from dist/), answer GraphQL over
// HTTP, serve the dashboard and the IDE with their prebuilt files, start its two workers (so the worker's
// imports — TF.js, sharp, the native addon when built — are in `dependencies` too) and drain on SIGTERM.
// npm ci needs the npm registry or its cache (`--prefer-offline` uses the cache first). Each step's
// time is printed: 3–7 minutes on the shared 2-core machine, most of it `npm ci` and tsc (docs/deployment.md).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDatabase } from '../../src/db/database.ts';
import { readMigrations } from '../../src/db/migrate.ts';
import { databaseUrl, dropDatabase, TEST_DB_PREFIX } from '../helpers/db-server.ts';
import { until } from '../helpers/until.ts';
import { alive, allWorkerPids, gql, launch, queryOnce, type Instance } from './process-tree.ts';

const ROOT = join(import.meta.dirname, '../..');
const STEP_TIMEOUT_MS = 15 * 60_000;

let dir: string | undefined;
let app: string;
let dbName: string | undefined;
let instance: Instance | undefined;
const timings: string[] = [];

/** Runs a command to completion (asynchronously: a vitest worker must not block for minutes); its output on failure. */
async function step(label: string, argv: string[], cwd: string): Promise<void> {
  const started = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`${label} exited with ${code}:\n${output.slice(-4000)}`);
  timings.push(`${label} ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const origin = (url: string) => new URL(url).origin;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glimpse-production-build-'));
  app = join(dir, 'app');
  await step('git clone', ['git', 'clone', '--quiet', ROOT, app], dir);
  await step('npm ci', ['npm', 'ci', '--prefer-offline', '--no-audit', '--no-fund'], app);
  await step('npm run build', ['npm', 'run', 'build'], app);
  await step('npm prune --omit=dev', ['npm', 'prune', '--omit=dev', '--no-audit', '--no-fund'], app);

  // an empty database: the compiled process migrates it itself
  const { adminUrl } = inject('testDatabase');
  dbName = `${TEST_DB_PREFIX}${Math.floor(Date.now() / 1000)}_${randomBytes(5).toString('hex')}`;
  await ensureDatabase(adminUrl, dbName);
  const main = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).main as string;
  const started = Date.now();
  instance = launch(
    { DATABASE_URL: databaseUrl(adminUrl, dbName), GLIMPSE_DATA_DIR: join(dir, 'data') },
    { command: [process.execPath, main], cwd: app },
  );
  await instance.ready;
  timings.push(`node ${main} until listening ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`[production-build] ${timings.join(', ')}`);
}, STEP_TIMEOUT_MS);

afterAll(async () => {
  if (instance) {
    if (instance.child.exitCode === null && instance.child.signalCode === null) process.kill(-instance.pgid, 'SIGKILL');
    for (const pid of allWorkerPids(instance)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  if (dbName) await dropDatabase(inject('testDatabase').adminUrl, dbName);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the production build from a clean clone, dev dependencies pruned', () => {
  it('has no build tools left and names the compiled entry', () => {
    expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).main).toBe('dist/main.js');
    expect(existsSync(join(app, 'dist/main.js'))).toBe(true);
    for (const dev of ['esbuild', 'tsx', '@graphql-yoga/render-graphiql', 'vitest']) {
      expect(existsSync(join(app, 'node_modules', dev)), `${dev} survived npm prune --omit=dev`).toBe(false);
    }
  });

  it('migrates the empty database and answers GraphQL over HTTP', async () => {
    const url = await instance!.ready;
    expect(url, instance!.output()).toBeDefined();
    const applied = await queryOnce<{ n: number }>(
      databaseUrl(inject('testDatabase').adminUrl, dbName!),
      `SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`,
    );
    expect(applied[0]!.n).toBe((await readMigrations()).length);
    const { datasets, serverInfo } = await gql<{ datasets: { name: string }[]; serverInfo: { version: string } }>(
      url!,
      `{ datasets { name } serverInfo { version } }`,
    );
    expect(datasets.length).toBeGreaterThan(0); // the demo set npm start registers
    expect(serverInfo.version).toBe(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).version);
  });

  it('starts its workers from the compiled entry, on the native kernels when the install built them', async () => {
    const url = (await instance!.ready)!;
    const { serverInfo } = await until(
      () => gql<{ serverInfo: { workers: number; backend: string | null } }>(url, `{ serverInfo { workers backend } }`),
      (d) => d.serverInfo.workers >= 2 && d.serverInfo.backend !== null,
      120_000,
      250,
    );
    const release = join(app, 'native/build/Release');
    const addonBuilt = existsSync(release) && readdirSync(release).some((f) => f.endsWith('.node'));
    expect(serverInfo.backend).toBe(addonBuilt ? 'wasm+openblas' : 'wasm');
  });

  it('serves the dashboard page and its prebuilt script', async () => {
    const base = origin((await instance!.ready)!);
    const html = await (await fetch(`${base}/`)).text();
    const script = /<script type="module" src="(\/assets\/dashboard\.[0-9a-f]{12}\.js)">/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const js = await fetch(base + script!, { headers: { 'accept-encoding': 'identity' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const body = await js.text();
    expect(body.length).toBeGreaterThan(1000);
    // the very file the build wrote
    expect(body).toBe(readFileSync(join(app, 'dist/web/assets', script!.slice('/assets/'.length)), 'utf8'));
  });

  it('serves the prebuilt on-device captioner and its wasm files', async () => {
    const base = origin((await instance!.ready)!);
    const manifest = (await (await fetch(`${base}/assets/device-manifest.json`)).json()) as {
      script: string;
      wasmFiles: Record<string, string>;
    };
    expect(manifest.script).toMatch(/^\/assets\/device\.[0-9a-f]{12}\.js$/);
    for (const file of [manifest.script, ...Object.values(manifest.wasmFiles)]) {
      const res = await fetch(base + file, { headers: { 'accept-encoding': 'identity' } });
      expect(res.status, file).toBe(200);
      // the very file the build wrote (Buffer.equals: toEqual walks a megabyte for seconds, past the socket's keep-alive)
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(readFileSync(join(app, 'dist/web/assets', file.slice('/assets/'.length)))), file).toBe(true);
    }
  });

  it('serves the GraphQL IDE and its files', async () => {
    const url = (await instance!.ready)!;
    const html = await (await fetch(url, { headers: { accept: 'text/html' } })).text();
    const files = [...html.matchAll(/\/ide\/[\w.-]+\.(?:js|css|ico)/g)].map((m) => m[0]);
    expect(
      files.some((f) => /\/ide\/graphiql\.[0-9a-f]{12}\.js/.test(f)),
      html.slice(0, 2000),
    ).toBe(true);
    for (const file of new Set(files)) {
      const res = await fetch(origin(url) + file);
      expect(res.status, file).toBe(200);
      expect((await res.arrayBuffer()).byteLength, file).toBeGreaterThan(100);
    }
  });

  it('drains and exits 0 on SIGTERM', async () => {
    process.kill(-instance!.pgid, 'SIGTERM');
    expect(await instance!.exited).toBe(0);
    expect(instance!.lines().some((l) => l.msg === 'stopped' && l.role === 'supervisor')).toBe(true);
  }, 60_000);
});
