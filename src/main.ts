// Process entry: `npm start` (API + embedded Postgres when DATABASE_URL is unset + one worker in a
// child process), `npm run api` (API only), `npm run worker` (worker only). Only the worker loads
// TensorFlow.js (src/jobs/worker.ts is imported lazily), so an API-only process never touches the ML
// library. `npm start`'s worker runs in its own process because a training step computes
// synchronously: in-process it would hold the API's event loop for the length of each step.
//
// Shutdown: the first SIGTERM/SIGINT drains (API stops accepting, the worker checkpoints a running
// training at the next batch boundary and hands it back to the queue); a second one exits at once.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from './config.ts';
import { createPrisma } from './db/client.ts';
import { startDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { createEventBus } from './events/index.ts';
import { createQueue } from './jobs/queue.ts';
import { registerDemoDataset } from './jobs/demo-dataset.ts';
import { startApi } from './server/app.ts';
import { mountWeb } from './server/web.ts';

type Mode = 'all' | 'api' | 'worker';

const WORKER_ENTRY = fileURLToPath(new URL('./jobs/worker-main.ts', import.meta.url));

interface WorkerChild {
  pid: number | undefined;
  /** SIGTERM (drain) and wait for the exit; a second call while draining makes it exit at once */
  stop(): Promise<void>;
}

/** `npm start`'s worker as a supervised child process on the same database (and TypeScript loader). */
function spawnWorker(databaseUrl: string, onUnexpectedExit: (why: string) => void): WorkerChild {
  const child = spawn(process.execPath, [...process.execArgv, WORKER_ENTRY, '--supervised'], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      if (!stopping) onUnexpectedExit(signal ? `killed by ${signal}` : `exit code ${code}`);
      resolve();
    }),
  );
  return {
    pid: child.pid,
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function parseMode(arg: string | undefined): Mode {
  if (arg === undefined || arg === 'all') return 'all';
  if (arg === 'api' || arg === 'worker') return arg;
  throw new Error(`unknown mode "${arg}": expected api, worker or nothing (both)`);
}

async function main(): Promise<void> {
  const mode = parseMode(process.argv[2]);
  const config: Config = loadConfig();
  const log = (msg: string) => console.log(`[glimpse] ${msg}`);

  const db = await startDatabase(config);
  log(db.embedded ? `embedded Postgres under ${config.paths.postgres}` : 'Postgres from DATABASE_URL');
  const stops: (() => Promise<void>)[] = [() => db.stop()];
  let workerChild: WorkerChild | undefined;
  let stopping = false;
  const shutdown = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((e: unknown) => console.error('[glimpse] shutdown:', e));
    }
  };

  try {
    const { applied } = await migrate(db.url);
    if (applied.length) log(`applied migrations: ${applied.join(', ')}`);
    const prisma = createPrisma(db.url);
    stops.push(() => prisma.$disconnect());
    const events = await createEventBus(db.url, { onError: (e) => console.error('[glimpse] events:', e.message) });
    stops.push(() => events.close());
    const queue = await createQueue(db.url);
    queue.onError((e) => console.error('[glimpse] queue:', e.message));
    await queue.start();
    stops.push(() => queue.stop({ graceful: true }));

    if (mode === 'worker') {
      const { startWorker } = await import('./jobs/worker.ts');
      const worker = await startWorker({ config, prisma, queue });
      stops.push(() => worker.stop({ graceful: true }));
      log(`worker ${worker.id} started`);
    }
    if (mode === 'all') {
      workerChild = spawnWorker(db.url, (why) => {
        if (stopping) return;
        console.error(`[glimpse] the worker process stopped unexpectedly (${why}); shutting down`);
        stopping = true;
        void shutdown().then(() => process.exit(1));
      });
      const child = workerChild;
      stops.push(() => child.stop());
      log(`worker process ${child.pid} starting`);
    }
    if (mode === 'all') {
      const demo = await registerDemoDataset(prisma, queue);
      if (demo) log(`registered the synthetic dataset "${demo.name}" (${demo.id})`);
    }
    if (mode !== 'worker') {
      const api = await startApi({ config, prisma, events, queue, mountWeb });
      stops.push(() => api.close());
      log(`GraphQL API and IDE at ${api.url} (subscriptions: ${api.url.replace(/^http/, 'ws')})`);
    }
  } catch (e) {
    await shutdown();
    throw e;
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      void workerChild?.stop(); // its second SIGTERM: it exits at once too
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: draining (send it again to exit at once)`);
    void shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
  process.exit(1);
});
