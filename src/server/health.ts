// GET /livez and /readyz (the answers: src/process/probes.ts), GET /healthz and the database gate. /healthz answers 200 `{ status: "ok", database: "up",
// workers: N }` while the database answers (N: live workers, as serverInfo.workers counts them:
// a worker whose ML runtime broke leaves that count; `workersDiskFull: M` added while M of them have
// a full data disk and take no training jobs, src/jobs/disk-space.ts), 503 `{ status: "unavailable", database:
// "down", error }` while it does not. While the watcher (src/db/watch.ts) sees the database down,
// every GraphQL request is answered 503 SERVICE_UNAVAILABLE at once instead of waiting on a pool
// that cannot connect.
// What a caller is told about an outage is "database unreachable" and nothing more: the driver's
// message names the database's address and port ("connect ECONNREFUSED 10.0.3.7:5432"), which is for
// operators — the log, and callers presenting a valid API key (`error` / `extensions.detail`).
import type { Express, Request, RequestHandler, Response } from 'express';
import type { PrismaClient } from '../db/client.ts';
import type { EventLoopWatch } from '../process/event-loop.ts';
import { liveness, readiness, type ProbeAnswer } from '../process/probes.ts';
import { DATABASE_UNREACHABLE, RETRY_AFTER_SECONDS } from '../resolvers/shared/api-errors.ts';
import { bearerToken } from './request-context.ts';

export interface DatabaseState {
  readonly up: boolean;
  readonly lastError?: string | undefined;
}

/** True for a valid API key (./keyring.ts: GLIMPSE_API_KEYS always; managed keys while cached or readable). */
export type KeyCheck = (token: string | null) => Promise<boolean>;

/**
 * The outage's detail for a caller presenting a valid key; undefined for anyone else, and for everyone when
 * no keys are set (an open server may still listen beyond loopback: the log has the detail).
 */
async function detailFor(req: Request, holdsKey: KeyCheck, detail: string | undefined): Promise<string | undefined> {
  if (detail === undefined) return undefined;
  return (await holdsKey(bearerToken(req.headers.authorization))) ? detail : undefined;
}

const errorText = (detail: string | undefined) => (detail ? `${DATABASE_UNREACHABLE}: ${detail}` : DATABASE_UNREACHABLE);

export function mountHealth(
  app: Express,
  prisma: PrismaClient,
  workerTimeoutMs: number,
  holdsKey: KeyCheck,
  database?: DatabaseState,
): void {
  app.get('/healthz', async (req, res) => {
    if (database && !database.up) {
      res
        .status(503)
        .json({ status: 'unavailable', database: 'down', error: errorText(await detailFor(req, holdsKey, database.lastError)) });
      return;
    }
    try {
      const live = { lastSeenAt: { gte: new Date(Date.now() - workerTimeoutMs) } };
      const [workers, diskFull] = await Promise.all([
        prisma.worker.count({ where: live }),
        prisma.worker.count({ where: { ...live, diskFull: true } }),
      ]);
      // workersDiskFull: live workers whose data disk is full (they take no training jobs until there is space)
      res.json({ status: 'ok', database: 'up', workers, ...(diskFull > 0 ? { workersDiskFull: diskFull } : {}) });
    } catch (e) {
      const detail = await detailFor(req, holdsKey, e instanceof Error ? e.message : String(e));
      res.status(503).json({ status: 'unavailable', database: 'down', error: errorText(detail) });
    }
  });
}

export interface ProbeOptions {
  prisma: PrismaClient;
  loop: EventLoopWatch;
  maxDelaySeconds: number;
  /** true from the first stop signal on (src/process/lifecycle.ts) */
  draining: () => boolean;
  database?: DatabaseState | undefined;
}

const send = (res: Response, { status, body }: ProbeAnswer) => res.status(status).set('cache-control', 'no-store').json(body);

/** GET /livez and /readyz: open to every caller, like /healthz (their bodies name no address) */
export function mountProbes(app: Express, options: ProbeOptions): void {
  const { database } = options;
  app.get('/livez', (_req, res) => send(res, liveness(options.loop, options.maxDelaySeconds)));
  app.get('/readyz', async (_req, res) => {
    send(
      res,
      await readiness({ prisma: options.prisma, draining: options.draining, ...(database ? { databaseUp: () => database.up } : {}) }),
    );
  });
}

export function databaseGate(database: DatabaseState | undefined, holdsKey: KeyCheck): RequestHandler {
  return async (req, res, next) => {
    if (!database || database.up) return next();
    const detail = await detailFor(req, holdsKey, database.lastError);
    res
      .status(503)
      .set('retry-after', String(RETRY_AFTER_SECONDS))
      .json({
        errors: [
          {
            message: `${DATABASE_UNREACHABLE}: try again shortly`,
            extensions: {
              code: 'SERVICE_UNAVAILABLE',
              retryable: true,
              retryAfterSeconds: RETRY_AFTER_SECONDS,
              ...(detail ? { detail } : {}),
            },
          },
        ],
      });
  };
}
