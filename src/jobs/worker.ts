// A worker: the ML backend, a Worker row refreshed every heartbeat (serverInfo), the reaper, and
// handlers for the `training` (one run at a time), `caption` (batched per model), `dataset` and `evaluation` queues.
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
import { captionJob, purgeEndedCaptionImages } from './caption.job.ts';
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
  const beat = setInterval(
    () => disk.check().then(gateTraining).then(seen).catch(dbError('worker heartbeat')),
    config.heartbeatSeconds * 1000,
  );
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
  /** training jobs running (one at a time: a paused queue resumes only once the last has ended) */
  let trainingJobs = 0;
  const takeTraining = () =>
    queue.work('training', { batchSize: 1, ...polling }, async (jobs) => {
      trainingJobs++;
      try {
        await track(
          oneByOne(
            jobs.map((j) => j.data),
            (data, h) => trainJob(data, { ...h, log: withFields(log, { runId: data.runId }) }),
          ),
        );
      } finally {
        trainingJobs--;
      }
    });
  /** whether the training queue is being worked: not while the disk is full (nor once stopped) */
  let training = names.includes('training') && !disk.full;
  if (training) await takeTraining();
  else if (names.includes('training')) (log.warn ?? log.info)(diskFullLine());
  /** stops or resumes taking training jobs as the free space crosses the floor */
  async function gateTraining(): Promise<void> {
    if (!names.includes('training') || stopped || left || training === !disk.full) return;
    if (!disk.full && trainingJobs > 0) return; // the paused queue's last job still runs: the next beat resumes
    training = !disk.full;
    if (training) {
      await takeTraining();
      log.info(`the data disk has ${formatFree(disk.free)} free again: taking training jobs`);
    } else {
      await queue.offWork('training');
      (log.warn ?? log.info)(diskFullLine());
    }
  }
  function diskFullLine(): string {
    return `the data disk is full (${formatFree(disk.free)} free, under GLIMPSE_MIN_FREE_DISK): this worker takes no training jobs until there is space`;
  }
  if (names.includes('caption'))
    await queue.work('caption', { batchSize: options.captionBatchSize ?? config.captionBatchSize, ...polling }, (jobs) =>
      track(
        captionJob(
          jobs.map((j) => j.data),
          { ...helpers, captioners },
        ),
      ),
    );
  if (names.includes('evaluation'))
    await queue.work('evaluation', { batchSize: 1, ...polling }, (jobs) =>
      track(
        oneByOne(
          jobs.map((j) => j.data),
          (data, h) => evaluateJob(data, { ...h, queue, captioners, log: withFields(log, { evaluationId: data.evaluationId }) }),
        ),
      ),
    );
  if (names.includes('dataset'))
    await queue.work('dataset', { batchSize: 1, ...polling }, (jobs) =>
      track(
        oneByOne(
          jobs.map((j) => j.data),
          datasetJob,
        ),
      ),
    );
  log.info(`started (heartbeat ${config.heartbeatSeconds} s; jobs: ${names.join(', ')})`);

  /** stop taking jobs and leave the live workers (serverInfo.workers): the runtime cannot work */
  const leave = () =>
    (left ??= (async () => {
      await Promise.all(names.map((n) => queue.offWork(n)));
      clearInterval(beat);
      await prisma.worker.deleteMany({ where: { id } });
      await notify(prisma, 'worker');
    })().catch((e: unknown) => log.error('leaving the live workers', e)));

  return {
    id,
    async stop({ graceful = true } = {}) {
      if (stopped) return;
      stopped = true;
      await (left ?? Promise.all(names.map((n) => queue.offWork(n))));
      if (graceful) {
        shutdown.abort();
        await Promise.allSettled([...active]);
      }
      clearInterval(beat);
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
