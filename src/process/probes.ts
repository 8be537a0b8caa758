// The answers of the Kubernetes-style probes, for the API (src/server/health.ts) and a standalone
// worker's metrics port (src/jobs/metrics-server.ts):
//   /livez   200 while the process runs and its event loop was not held past the bound lately
//            (./event-loop.ts); it stays 200 through a drain, until the process exits;
//   /readyz  503 from the first stop signal on (draining), before a worker takes jobs (starting), while
//            the database does not answer (the watcher's view, or this probe's own query within 2 s),
//            or while a migration this code knows is not applied; 200 otherwise.
import type { PrismaClient } from '../db/client.ts';
import { readMigrations } from '../db/migrate.ts';
import type { EventLoopWatch } from './event-loop.ts';

export interface ProbeAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function liveness(loop: EventLoopWatch, maxDelaySeconds: number): ProbeAnswer {
  const delay = Math.round(loop.delaySeconds() * 1000) / 1000;
  return delay > maxDelaySeconds
    ? { status: 503, body: { status: 'stalled', eventLoopDelaySeconds: delay, maxDelaySeconds } }
    : { status: 200, body: { status: 'ok', eventLoopDelaySeconds: delay } };
}

export interface ReadinessOptions {
  prisma: PrismaClient;
  /** true from the first stop signal on */
  draining: () => boolean;
  /** the database watcher's view (src/db/watch.ts), where the process runs one */
  databaseUp?: () => boolean;
  /** false until the process has started what it serves (a worker: until it takes jobs) */
  started?: () => boolean;
  timeoutMs?: number;
}

let known: Promise<string[]> | undefined;

/** migrations of this code's prisma/migrations not applied (finished, not rolled back) in the database */
async function pendingMigrations(prisma: PrismaClient): Promise<number> {
  known ??= readMigrations().then((files) => files.map((f) => f.name));
  const names = await known;
  const [row] = await prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL AND migration_name = ANY($1::text[])`,
    names,
  );
  return names.length - (row?.n ?? 0);
}

export async function readiness(options: ReadinessOptions): Promise<ProbeAnswer> {
  const unavailable = (why: Record<string, unknown>) => ({ status: 503, body: { status: 'unavailable', ...why } });
  if (options.draining()) return { status: 503, body: { status: 'draining' } };
  if (options.started && !options.started()) return { status: 503, body: { status: 'starting' } };
  if (options.databaseUp && !options.databaseUp()) return unavailable({ database: 'down' });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 2000);
  });
  try {
    const pending = await Promise.race([pendingMigrations(options.prisma), timeout]);
    if (pending === 'timeout') return unavailable({ database: 'down' });
    if (options.draining()) return { status: 503, body: { status: 'draining' } };
    return pending > 0 ? unavailable({ database: 'up', migrations: `${pending} not applied` }) : { status: 200, body: { status: 'ok' } };
  } catch {
    return unavailable({ database: 'down' });
  } finally {
    clearTimeout(timer);
  }
}
