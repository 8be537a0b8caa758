// Process entry: `npm start` (API + embedded Postgres when DATABASE_URL is unset + one supervised
// worker child process), `npm run api` (API only; never loads TensorFlow.js) and `main.ts worker`
// (the same as `npm run worker`: src/jobs/worker-main.ts). `npm start`'s worker runs in its own
// process because a training step computes synchronously: in-process it would hold the API's
// event loop for the length of each step; and so that a crashed or OOM-killed worker is restarted
// (src/process/supervisor.ts) while the API keeps answering.
//
// One `npm start` per data dir (src/db/instance-lock.ts). Shutdown: the first SIGTERM/SIGINT
// drains (the worker checkpoints a running training at the next batch
// boundary and hands it back, then the API closes, then the embedded Postgres stops; /readyz answers
// 503 from the signal on, /livez 200 until the API closes); copies of it that arrive within a
// second (a signal to the whole process group reaches npm, tsx and this process) are ignored; a
// later one exits at once. Database lost: the API answers 503 and exits non-zero (69) after
// GLIMPSE_DB_GRACE_SECONDS unless it comes back (src/db/watch.ts).
import 'reflect-metadata';
import { join } from 'node:path';
import { configWarnings, loadConfig, type Config } from './config/index.ts';
import { createPrisma } from './db/client.ts';
import { startDatabase } from './db/database.ts';
import { watchDatabase } from './db/watch.ts';
import { DataDirInUseError, lockDataDir } from './db/instance-lock.ts';
import { migrate } from './db/migrate.ts';
import { createEventBus } from './events/index.ts';
import { registerDemoDataset } from './queue/demo-dataset.ts';
import { createQueue } from './queue/queue.ts';
import { releaseDeadWorker } from './queue/reaper.ts';
import { errFields, log as rootLog, setLogLevel } from './log.ts';
import { EXIT_DATABASE_LOST, EXIT_FAILURE } from './process/exit-codes.ts';
import { splitCpus, usableCpus } from './process/cpu-budget.ts';
import { runProcess } from './process/lifecycle.ts';
import { superviseWorker, type SupervisedWorker } from './process/supervisor.ts';
import { startApi, type RunningApi } from './server/app.ts';
import { mountWeb } from './server/web.ts';

type Mode = 'all' | 'api' | 'worker';

function parseMode(arg: string | undefined): Mode {
  if (arg === undefined || arg === 'all') return 'all';
  if (arg === 'api' || arg === 'worker') return arg;
  throw new Error(`unknown mode "${arg}": expected api, worker or nothing (both)`);
}

async function main(): Promise<void> {
  const mode = parseMode(process.argv[2]);
  if (mode === 'worker') {
    const { runWorkerProcess } = await import('./jobs/worker-main.ts');
    return runWorkerProcess();
  }
  const config: Config = loadConfig();
  setLogLevel(config.logLevel);
  const log = rootLog.child({ role: mode === 'all' ? 'supervisor' : 'api' });
  for (const warning of configWarnings()) log.warn(warning);
  const workers: SupervisedWorker[] = [];
  await runProcess({
    log,
    exitNowCode: EXIT_FAILURE,
    beforeExitNow: () => {
      for (const w of workers) w.kill();
    },
    start: async (life) => {
      // the data dir's owner: `npm start` always, `npm run api` when it runs the embedded Postgres
      if (mode === 'all' || config.databaseUrl === undefined) {
        const lock = await lockDataDir(config.dataDir);
        life.onStop(() => lock.release());
      }
      const db = await startDatabase(config);
      life.onStop(() => db.stop());
      log.info(db.embedded ? `embedded Postgres under ${config.paths.postgres}` : 'Postgres from DATABASE_URL');
      const { applied } = await migrate(db.url);
      if (applied.length) log.info(`applied migrations: ${applied.join(', ')}`);
      // the API's pool: GLIMPSE_DB_POOL_SIZE connections, GLIMPSE_DB_POOL_WAIT_MS at most waiting for one
      const prisma = createPrisma(db.url, { max: config.dbPool.size, waitMs: config.dbPool.waitMs });
      life.onStop(() => prisma.$disconnect());
      const health = watchDatabase(db.url, {
        log,
        graceSeconds: config.dbGraceSeconds,
        onGraceExceeded: () => life.exitAfterShutdown(EXIT_DATABASE_LOST),
      });
      life.onStop(async () => health.stop());
      // while the database is down its own line says so (at a bounded rate): these would repeat it
      const whileUp = (what: string) => (e: Error) => {
        if (health.up) log.warn(errFields(e), what);
        else log.debug(errFields(e), what);
      };
      const events = await createEventBus(db.url, { onError: whileUp('events') });
      life.onStop(() => events.close());
      const queue = await createQueue(db.url);
      queue.onError(whileUp('queue'));
      await queue.start();
      life.onStop(() => queue.stop({ graceful: true }));

      // The API closes after the workers have drained (stop steps run last registered first): from the
      // first signal /readyz answers 503 while GraphQL, /livez and /metrics go on answering until then
      let api: RunningApi | undefined;
      life.onStop(async () => api?.close());
      if (mode === 'all') {
        for (const role of workerRoles(config)) {
          const child = superviseWorker({
            databaseUrl: db.url,
            log,
            ...role,
            onDeath: async (workerId) => {
              const runs = await releaseDeadWorker(prisma, queue, workerId);
              if (runs.length)
                log.info({ workerId }, `handed back the dead worker's runs: ${runs.map((r) => `${r.id} → ${r.status}`).join(', ')}`);
            },
          });
          workers.push(child);
          life.onStop(() => child.stop());
        }
        const demo = await registerDemoDataset(prisma, queue);
        if (demo) log.info(`registered the synthetic dataset "${demo.name}" (${demo.id})`);
      }
      api = await startApi({
        config,
        prisma,
        events,
        queue,
        mountWeb,
        database: health,
        draining: () => life.stopping,
        metricsSources: workers.map((w) => () => w.metrics()),
      });
      // registered last, so the first stop step: /readyz already answers 503, everything else goes on serving
      const drainDelayMs = config.metrics.drainDelaySeconds * 1000;
      if (drainDelayMs > 0) life.onStop(() => new Promise((resolve) => setTimeout(resolve, drainDelayMs)));
      log.info(
        { listen: api.listening.text },
        `listening on ${api.listening.text}: GraphQL API and IDE at ${api.url} (subscriptions: ${api.url.replace(/^http/, 'ws')})`,
      );
      for (const warning of api.warnings) log.warn(warning);
    },
  });
}

/**
 * `npm start`'s worker processes. GLIMPSE_CAPTION_WORKER (default): captions get their own worker
 * process, so a training step (which holds its process for its whole length) never delays them; it
 * keeps its own cache folder (a cache's pins are per process). docs/operations.md "Captions while a run trains".
 */
function workerRoles(config: Config): { label: string; env?: Record<string, string> }[] {
  const separate = config.captionWorker && config.workerJobs.includes('caption');
  if (!separate) return [{ label: 'worker' }];
  const mainJobs = config.workerJobs.filter((j) => j !== 'caption');
  // the CPUs split between the two (GLIMPSE_CPUS of each): the trainer's native threads step back to one
  // while the caption worker captions (native/threads.c), else their threads never outnumber the CPUs
  const share = splitCpus(config.cpus ?? usableCpus().cpus, true, config.nativeKernels);
  return [
    ...(mainJobs.length > 0
      ? [{ label: 'worker', env: { GLIMPSE_WORKER_JOBS: mainJobs.join(','), GLIMPSE_CPUS: String(share.training) } }]
      : []),
    {
      label: 'caption worker',
      env: {
        GLIMPSE_WORKER_JOBS: 'caption',
        GLIMPSE_DATA_DIR: join(config.dataDir, 'caption-worker'),
        GLIMPSE_CPUS: String(share.caption),
      },
    },
  ];
}

main().catch((e: unknown) => {
  if (e instanceof DataDirInUseError) rootLog.fatal({ lockPath: e.lockPath, holder: e.holder }, e.message);
  else rootLog.fatal(errFields(e), e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  process.exit(EXIT_FAILURE);
});
