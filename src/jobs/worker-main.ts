// Worker process entry (`npm run worker`, `npm start`'s worker, tests): DATABASE_URL required. The
// first SIGTERM/SIGINT drains (a running training checkpoints and is handed back), a second one exits
// at once. With --supervised (started by `npm start` over an IPC channel) it ignores SIGINT, which a
// terminal's Ctrl-C sends to the whole process group: the parent forwards one SIGTERM per Ctrl-C
// instead; and it drains on its own when the parent is gone (the channel disconnects).
import { loadConfig } from '../config.ts';
import { createPrisma } from '../db/client.ts';
import { createQueue } from './queue.ts';
import { startWorker } from './worker.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('DATABASE_URL: required by the worker process');
  const prisma = createPrisma(config.databaseUrl);
  const queue = await createQueue(config.databaseUrl);
  queue.onError((e) => console.error('[worker] queue:', e.message));
  await queue.start();
  const worker = await startWorker({ config, prisma, queue });
  console.log(`[worker] ${worker.id} ready (pid ${process.pid})`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      console.log(`[worker] ${signal} again: exiting now`);
      process.exit(130);
    }
    console.log(`[worker] ${signal}: draining (send again to exit now)`);
    worker
      .stop({ graceful: true })
      .then(() => queue.stop({ graceful: true }))
      .then(() => prisma.$disconnect())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('[worker] shutdown failed:', error);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  if (process.argv.includes('--supervised')) {
    process.on('SIGINT', () => {});
    process.on('disconnect', () => signals === 0 && onSignal('SIGTERM'));
  } else {
    process.on('SIGINT', onSignal);
  }
}

main().catch((error: unknown) => {
  console.error('[worker] failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
