// A Postgres of a test's own (embedded, on a port of its own) that the test may stop and start again on the same
// data dir and port: for outage tests, which must not stop the shared test server.
import { chmod, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { startDatabase, type Database } from '../../src/db/database.ts';
import type { ApiContext } from '../../src/resolvers/shared/api-context.ts';

/** a fresh folder for an own Postgres's data, reachable by the `postgres` user the server runs as under root */
export async function ownPostgresDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** an API queue for tests that enqueue nothing: the test writes what the worker would */
export const NO_QUEUE = {
  enqueueTraining: () => Promise.reject(new Error('not in this test')),
  enqueueCaption: () => Promise.reject(new Error('not in this test')),
  enqueueDataset: () => Promise.reject(new Error('not in this test')),
  depth: async () => 0,
} as unknown as ApiContext['queue'];

/** a TCP port free on 127.0.0.1 now */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** starts (or starts again) the embedded Postgres under `dataDir` on `port`; not durable: tests only */
export function startOwnPostgres(dataDir: string, port: number): Promise<Database> {
  return startDatabase(loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_PG_PORT: String(port) }), { durable: false });
}
