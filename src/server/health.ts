// GET /healthz and the database gate. /healthz answers 200 `{ status: "ok", database: "up",
// workers: N }` while the database answers (N: live workers, as serverInfo.workers counts them:
// a worker whose ML runtime broke leaves that count), 503 `{ status: "unavailable", database:
// "down", error }` while it does not. While the watcher (src/db/watch.ts) sees the database down,
// every GraphQL request is answered 503 SERVICE_UNAVAILABLE at once instead of waiting on a pool
// that cannot connect.
import type { Express, RequestHandler } from 'express';
import type { PrismaClient } from '../db/client.ts';

export interface DatabaseState {
  readonly up: boolean;
  readonly lastError?: string | undefined;
}

export function mountHealth(app: Express, prisma: PrismaClient, workerTimeoutMs: number, database?: DatabaseState): void {
  app.get('/healthz', async (_req, res) => {
    if (database && !database.up) {
      res.status(503).json({ status: 'unavailable', database: 'down', error: database.lastError ?? null });
      return;
    }
    try {
      const workers = await prisma.worker.count({ where: { lastSeenAt: { gte: new Date(Date.now() - workerTimeoutMs) } } });
      res.json({ status: 'ok', database: 'up', workers });
    } catch (e) {
      res.status(503).json({ status: 'unavailable', database: 'down', error: e instanceof Error ? e.message : String(e) });
    }
  });
}

export function databaseGate(database: DatabaseState | undefined): RequestHandler {
  return (_req, res, next) => {
    if (!database || database.up) return next();
    res
      .status(503)
      .set('retry-after', '5')
      .json({
        errors: [
          {
            message: `the database is unavailable (${database.lastError ?? 'unreachable'}); try again shortly`,
            extensions: { code: 'SERVICE_UNAVAILABLE' },
          },
        ],
      });
  };
}
