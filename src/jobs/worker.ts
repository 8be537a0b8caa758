// A worker: the ML backend, a Worker row refreshed every heartbeat (serverInfo), the reaper, and
// handlers for the `training` (one run at a time), `caption` (batched per model), `dataset`, `evaluation` and
// `bulk-caption` queues, each fetched only while it is not paused (src/jobs/queue-gate.ts).
//
// stop({ graceful: true }) (first SIGTERM): stop taking jobs, abort a running training at the
// next batch boundary (it checkpoints and is handed back to the queue), wait for the handlers.
// stop({ graceful: false }): stop taking jobs and return at once; the reaper of another worker
// takes back what this one leaves RUNNING.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/index.ts';
import type { PrismaClient } from '../db/client.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { notify } from '../events/index.ts';
import { initBackend, loadCaptioner } from '../ml/index.ts';
import { nativeBackendOptionsFor } from './native-env.ts';
import { workerThreads } from './threads.ts';
import { backboneAccess } from '../sources/backbone-access.ts';
import { purgeEndedCaptionImages } from './caption.job.ts';
import { captionLoop } from './caption-loop.ts';
import { CaptionerCache } from './captioner-cache.ts';
import { datasetJob } from './dataset.job.ts';
import { diskState, formatFree } from './disk-space.ts';
import { log as rootLog } from '../log.ts';
import { jobLogger, withFields, type JobHelpers, type JobLogger } from './helpers.ts';
import { mlRuntimeGuard } from './ml-runtime.ts';
import type { JobQueue, QueueName } from '../queue/queue.ts';
import { startReaper } from '../queue/reaper.ts';
import { sweepPendingBlobs } from '../storage/index.ts';
import { trainJob } from './train.job.ts';
import { evaluateJob } from './evaluate.job.ts';
import { bulkCaptionJob } from './bulk-caption.job.ts';
import { queueGate, type QueueGate } from './queue-gate.ts';
import { pausedQueues } from '../queue/pause.ts';
import type { WorkerMetrics } from './metrics.ts';

export interface WorkerOptions {
  config: Config;
  prisma: PrismaClient;
  queue: JobQueue;
  /** default: a random UUID */
  workerId?: string;
  /** caption requests fetched (and decoded per model) together; default config.captionBatchSize */
  captionBatchSize?: number;
  /** loaded models kept in memory, default 4 */
  modelCacheSize?: number;
  /** idle polling period of the queues, default 1 s */
  pollingIntervalSeconds?: number;
  log?: JobLogger;
  /**
   * called once when a job hit a fatal ML-runtime error (see ml-runtime.ts): the worker has already
   * stopped taking jobs and left serverInfo.workers; the process should exit so a fresh runtime
   * replaces it. Default: log it (an in-process worker stays stopped).
   */
  onRuntimeBroken?: (error: Error) => void;
  /** where the jobs count captions and training steps (src/jobs/metrics.ts); default: not counted */
  metrics?: WorkerMetrics;
}

export interface RunningWorker {
  id: string;
  stop(options?: { graceful?: boolean }): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config, prisma, queue } = options;
  const id = options.workerId ?? randomUUID();
  const log = options.log ?? jobLogger(rootLog.child({ role: 'worker', workerId: id }));
  const threads = workerThreads(config);
  const backend = await initBackend(config.backend, {
    ...nativeBackendOptionsFor(config),
    wasmThreads: threads.wasmThreads,
    blasThreads: threads.blasThreads,
  });
  log.info(`backend ${backend.name} (${backend.threads} threads)`);
  log.info(threads.note);
  for (const note of backend.notes) log.info(note);

  // the data dir's free space, measured each beat: below GLIMPSE_MIN_FREE_DISK no training jobs are taken
  const disk = diskState(config.dataDir, config.minFreeDiskBytes);
  await disk.check();
  const diskFields = () => ({ diskFull: disk.full, freeDiskBytes: disk.free === null ? null : BigInt(disk.free) });
  const seen = async () => {
    const now = new Date();
    await prisma.worker.upsert({
      where: { id },
      create: {
        id,
        hostname: hostname(),
        pid: process.pid,
        backend: backend.name,
        threads: backend.threads,
        roles: [...config.workerJobs],
        lastSeenAt: now,
        ...diskFields(),
      },
      update: { lastSeenAt: now, backend: backend.name, threads: backend.threads, ...diskFields() },
    });
  };
  await seen();
  const purged = await purgeEndedCaptionImages({ config, prisma });
  if (purged > 0) log.info(`deleted the images of ${purged} ended caption request(s) (GLIMPSE_KEEP_CAPTION_IMAGES is not set)`);
  await notify(prisma, 'worker');
  // uploads to the artifact store that a dead worker never committed
  sweepPendingBlobs(prisma).catch((e: unknown) => log.error('artifact store: sweeping abandoned uploads', e));
  // while the database is unreachable, one line per 30 s for the beats and the reaper, not one a beat
  const lastOutageLine = new Map<string, number>();
  const dbError = (what: string) => (e: unknown) => {
    const now = Date.now();
    if (isDatabaseUnavailable(e) && now - (lastOutageLine.get(what) ?? 0) < 30_000) return;
    if (isDatabaseUnavailable(e)) lastOutageLine.set(what, now);
    log.error(`${what}${isDatabaseUnavailable(e) ? ' (database unavailable; retrying every beat)' : ''}`, e);
  };
  /** set once the handlers exist; the beats re-check the disk through it */
  let gate: QueueGate | undefined;
  const gateTraining = (): Promise<void> => (stopped || left || !gate ? Promise.resolve() : gate.refresh());
  // a beat in flight is awaited by stop(): its upsert must not bring back the row a graceful stop deletes
  let beating: Promise<void> | undefined;
  const beat = setInterval(() => {
    beating ??= disk
      .check()
      .then(gateTraining)
      .then(() => (stopped ? undefined : seen()))
      .catch(dbError('worker heartbeat'))
      .finally(() => {
        beating = undefined;
      });
  }, config.heartbeatSeconds * 1000);
  const reaper = startReaper(prisma, queue, {
    heartbeatSeconds: config.heartbeatSeconds,
    ownWorkerId: id,
    onReaped: (runs) => log.info(`reaped ${runs.map((r) => `${r.id} → ${r.status}`).join(', ')}`),
    onError: dbError('reaper'),
  });

  const shutdown = new AbortController();
  let stopped = false;
  let left: Promise<void> | undefined;
  const captioners = new CaptionerCache(options.modelCacheSize ?? 4, (dir) =>
    loadCaptioner(dir, { backboneAccess: backboneAccess(config) }),
  );
  const runtime = mlRuntimeGuard((error) => {
    log.error('the ML runtime is broken: this worker takes no more jobs', error);
    void leave().then(() => (options.onRuntimeBroken ?? (() => undefined))(error));
  }, config.testWasmFault);
  const helpers: JobHelpers = {
    config,
    prisma,
    queue,
    workerId: id,
    log,
    shutdown: shutdown.signal,
    runtime,
    onDiskFull: () => void disk.check().then(gateTraining).then(seen).catch(dbError('worker heartbeat')),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  };
  const active = new Set<Promise<void>>();
  /** a running handler, tracked so a graceful stop can wait for it */
  const track = async (running: Promise<void>) => {
    active.add(running);
    try {
      await running;
    } finally {
      active.delete(running);
    }
  };
  const oneByOne = async <T>(payloads: T[], job: (payload: T, helpers: JobHelpers) => Promise<void>) => {
    for (const payload of payloads) await job(payload, helpers);
  };
  const polling = { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1 };
  // GLIMPSE_WORKER_JOBS: only the queues of this worker's roles (e.g. caption-only CPU workers)
  const names: QueueName[] = [...config.workerJobs];
  /** handlers running per queue: a queue stopped (paused, disk full) starts again only once its last has ended */
  const running = new Map<QueueName, number>();
  const counted =
    <A extends unknown[]>(name: QueueName, handler: (...args: A) => Promise<void>) =>
    async (...args: A) => {
      running.set(name, (running.get(name) ?? 0) + 1);
      try {
        await track(handler(...args));
      } finally {
        running.set(name, (running.get(name) ?? 1) - 1);
      }
    };
  const handlers: Record<QueueName, () => Promise<string>> = {
    training: () =>
      queue.work(
        'training',
        { batchSize: 1, ...polling },
        counted('training', (jobs) =>
          oneByOne(
            jobs.map((j) => j.data),
            (data, h) => trainJob(data, { ...h, log: withFields(log, { runId: data.runId }) }),
          ),
        ),
      ),
    caption: () =>
      queue.work(
        'caption',
        { batchSize: options.captionBatchSize ?? config.captionBatchSize, ...polling },
        counted('caption', (jobs, context) =>
          captionLoop(jobs, context, { ...helpers, captioners }, options.captionBatchSize ?? config.captionBatchSize),
        ),
      ),
    dataset: () =>
      queue.work(
        'dataset',
        { batchSize: 1, ...polling },
        counted('dataset', (jobs) =>
          oneByOne(
            jobs.map((j) => j.data),
            datasetJob,
          ),
        ),
      ),
    evaluation: () =>
      queue.work(
        'evaluation',
        { batchSize: 1, ...polling },
        counted('evaluation', (jobs) =>
          oneByOne(
            jobs.map((j) => j.data),
            (data, h) => evaluateJob(data, { ...h, queue, captioners, log: withFields(log, { evaluationId: data.evaluationId }) }),
          ),
        ),
      ),
    'bulk-caption': () =>
      queue.work(
        'bulk-caption',
        { batchSize: 1, ...polling },
        counted('bulk-caption', (jobs) =>
          oneByOne(
            jobs.map((j) => j.data),
            (data, h) => bulkCaptionJob(data, { ...h, captioners, queue, log: withFields(log, { bulkCaptionJobId: data.jobId }) }),
          ),
        ),
      ),
  };
  // paused queues (pauseQueue) and, below GLIMPSE_MIN_FREE_DISK, training: not fetched until that changes
  gate = queueGate({
    names,
    start: (name) => handlers[name](),
    stop: (name) => queue.offWork(name),
    running: (name) => running.get(name) ?? 0,
    held: (name) =>
      name === 'training' && disk.full
        ? `the data disk is full (${formatFree(disk.free)} free, under GLIMPSE_MIN_FREE_DISK): this worker takes no training jobs until there is space`
        : null,
    paused: () => pausedQueues(prisma),
    log,
  });
  await gate.refresh();
  /** the operator's pauses are read every polling interval: a paused queue is left within seconds */
  const gateTimer = setInterval(() => {
    if (!stopped && !left) gate?.refresh().catch(dbError('reading the paused queues'));
  }, polling.pollingIntervalSeconds * 1000);
  log.info(`started (heartbeat ${config.heartbeatSeconds} s; jobs: ${names.join(', ')})`);

  /** stop taking jobs and leave the live workers (serverInfo.workers): the runtime cannot work */
  const leave = () =>
    (left ??= (async () => {
      gate?.close();
      clearInterval(gateTimer);
      await Promise.all(names.map((n) => queue.offWork(n)));
      clearInterval(beat);
      await beating;
      await prisma.worker.deleteMany({ where: { id } });
      await notify(prisma, 'worker');
    })().catch((e: unknown) => log.error('leaving the live workers', e)));

  return {
    id,
    async stop({ graceful = true } = {}) {
      if (stopped) return;
      stopped = true;
      gate?.close();
      clearInterval(gateTimer);
      await (left ?? Promise.all(names.map((n) => queue.offWork(n))));
      if (graceful) {
        shutdown.abort();
        await Promise.allSettled([...active]);
      }
      clearInterval(beat);
      await beating;
      await reaper.stop();
      await captioners.clear();
      if (graceful) {
        await prisma.worker.deleteMany({ where: { id } });
        await notify(prisma, 'worker');
      }
      log.info(graceful ? 'stopped' : 'stopped without draining');
    },
  };
}
