// The one worker process entry: `npm run worker` and `npm start`'s child (`--supervised`).
// Standalone, DATABASE_URL is its database, or else the embedded Postgres of the data dir, which
// it then owns like `npm start` does (the data-dir lock, migrations). Its own supervisor (systemd,
// Kubernetes, `npm start`) restarts it when it exits non-zero.
//
// Stop: the first SIGTERM/SIGINT drains (a running training checkpoints at the next batch
// boundary and is handed back to the queue) and exits 0; copies of that signal within a second
// are ignored (src/process/signals.ts); a later one exits at once (130). Supervised, it also
// drains when its parent is gone (the IPC channel closes). A job that breaks the ML runtime (a
// wasm trap, see ml-runtime.ts) makes it leave the live workers and exit EXIT_ML_RUNTIME_BROKEN.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configWarnings, loadConfig } from '../config/index.ts';
import { createPrisma } from '../db/client.ts';
import { startDatabase } from '../db/database.ts';
import { lockDataDir } from '../db/instance-lock.ts';
import { migrate } from '../db/migrate.ts';
import { errFields, log as rootLog, setLogLevel, type Logger } from '../log.ts';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_ML_RUNTIME_BROKEN } from '../process/exit-codes.ts';
import { runProcess } from '../process/lifecycle.ts';
import { createQueue } from '../queue/queue.ts';
import { startWorker } from './worker.ts';
import { artifactCacheCounts } from './artifacts.ts';
import { loadedNativeKernels, threadState } from '../ml/kernels/native-addon.ts';
import { createWorkerMetrics } from './metrics.ts';
import { serveWorkerMetrics } from './metrics-server.ts';
import { watchEventLoop } from '../process/event-loop.ts';
import { answerMetricsRequests } from '../process/metrics-ipc.ts';

/**
 * TF.js's wasm backend (Emscripten) installs process handlers that turn any unhandled rejection
 * into an uncaught exception and that into the process's death (printing a line of its minified
 * source). A stray rejection (e.g. a database call during an outage that nobody awaited) is logged
 * instead; an uncaught exception still ends the process, logged, for its supervisor to restart.
 */
function keepRunningOnStrayErrors(log: Logger): void {
  process.removeAllListeners('unhandledRejection');
  process.removeAllListeners('uncaughtException');
  process.on('unhandledRejection', (reason) => log.error(errFields(reason), 'unhandled promise rejection (the worker keeps running)'));
  process.on('uncaughtException', (error) => {
    log.fatal(errFields(error), 'uncaught exception: exiting');
    process.exit(EXIT_FAILURE);
  });
}

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

export async function runWorkerProcess(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.logLevel);
  const supervised = process.argv.includes('--supervised');
  const workerId = argValue('worker-id') ?? randomUUID();
  const log = rootLog.child({ role: 'worker', workerId });
  for (const warning of configWarnings()) log.warn(warning);
  await runProcess({
    log,
    exitNowCode: EXIT_INTERRUPTED,
    start: async (life) => {
      if (supervised) process.on('disconnect', () => life.drain('the parent process is gone'));
      let url = config.databaseUrl;
      if (url === undefined) {
        if (supervised) throw new Error('DATABASE_URL: required by a supervised worker');
        const lock = await lockDataDir(config.dataDir);
        life.onStop(() => lock.release());
        const db = await startDatabase(config);
        life.onStop(() => db.stop());
        await migrate(db.url);
        url = db.url;
        log.info(`embedded Postgres under ${config.paths.postgres}`);
      }
      const prisma = createPrisma(url);
      life.onStop(() => prisma.$disconnect());
      const queue = await createQueue(url);
      queue.onError((e) => log.warn(errFields(e), 'queue'));
      await queue.start();
      life.onStop(() => queue.stop({ graceful: true }));
      // supervised: the parent's /metrics asks over IPC; standalone: its own port when GLIMPSE_METRICS_PORT is set
      const metrics = createWorkerMetrics({
        maxModels: config.metrics.maxModels,
        cacheCounts: artifactCacheCounts,
        nativeThreads: () => {
          const native = loadedNativeKernels();
          return native ? threadState(native.addon) : null;
        },
      });
      let started = false;
      if (supervised) answerMetricsRequests(metrics.registry);
      else if (config.metrics.port > 0) {
        const loop = watchEventLoop();
        const server = await serveWorkerMetrics({
          registry: metrics.registry,
          prisma,
          loop,
          maxDelaySeconds: config.metrics.livezMaxDelaySeconds,
          draining: () => life.stopping,
          started: () => started,
          apiKeys: config.apiKeys,
          host: config.host,
          port: config.metrics.port,
        });
        // registered before the worker's stop: the probes answer until the worker has drained
        life.onStop(async () => {
          loop.stop();
          await server.close();
        });
        log.info(`metrics and probes on ${config.host}:${server.port} (/metrics, /livez, /readyz)`);
      }
      const worker = await startWorker({
        config,
        prisma,
        queue,
        workerId,
        metrics,
        onRuntimeBroken: () => {
          log.fatal(`exiting with status ${EXIT_ML_RUNTIME_BROKEN} so that a fresh ML runtime replaces this one`);
          void worker.stop({ graceful: false }).finally(() => process.exit(EXIT_ML_RUNTIME_BROKEN));
        },
      });
      life.onStop(() => worker.stop({ graceful: true }));
      started = true;
      keepRunningOnStrayErrors(log);
      log.info(`worker ${worker.id} ready (pid ${process.pid})`);
    },
  });
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runWorkerProcess().catch((error: unknown) => {
    rootLog.fatal(errFields(error), `worker failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(EXIT_FAILURE);
  });
}
