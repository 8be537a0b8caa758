// A Postgres of a test's own (embedded, on a port of its own) that the test may stop and start again on the same
// data dir and port: for outage tests, which must not stop the shared test server.
import { createServer } from 'node:net';
import { loadConfig } from '../../src/config/index.ts';
import { startDatabase, type Database } from '../../src/db/database.ts';

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
