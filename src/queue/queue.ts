// pg-boss 10 on the app's Postgres (schema `pgboss`). Jobs are inserted through the caller's
// Prisma interactive transaction, so a job exists exactly when the rows it refers to do.
//
// What pg-boss 10 offers against dead workers: only expiry. An active job whose
// `started_on + expire_in` has passed is failed (and retried while retries remain) by the
// maintenance loop, and the worker races its handler against the same limit. There is no
// heartbeat (that arrived in later pg-boss versions), so a long training job could only be
// noticed hours later. Training therefore relies on TrainingRun.heartbeatAt instead: see
// src/runs/lease.ts and src/queue/reaper.ts; training jobs get no pg-boss retries.
//
// Wake-ups: pg-boss fetches on a polling tick. Each enqueue also sends a `job` NOTIFY (key: the
// queue name) in the same transaction, and a queue that works a queue LISTENs for it and wakes its
// pg-boss worker at once (`notifyWorker`), so a job starts within milliseconds of its commit. The
// tick stays as the safety net (retries, wake-ups lost while the listener reconnects).
import PgBoss from 'pg-boss';
import type { TransactionClient } from '../db/client.ts';
import { createEventBus, notify, type EventBus } from '../events/index.ts';
import { type WorkContext, workContext } from './work-context.ts';
import { datasetExpirySeconds, QUEUES } from './policies.ts';
import { LIVE_DEPTH_SQL, QUEUE_SCHEMA } from './depth.ts';
import { QUEUE_NAMES, type QueueName } from './names.ts';
import { priorityOption } from './priority.ts';
import type { JobPriority } from '../db/client.ts';

export { QUEUE_NAMES, type QueueName } from './names.ts';

export { QUEUE_SCHEMA } from './depth.ts';

/** each queue's job payload: one entry per name of QUEUE_NAMES */
export interface JobData extends Record<QueueName, object> {
  training: { runId: string };
  caption: { requestId: string; modelId: string };
  /** images: a synthetic set's size, which sets the job's expiry (unset for COCO indexing) */
  dataset: { datasetId: string; images?: number };
  evaluation: { evaluationId: string };
  'bulk-caption': { jobId: string };
}

export interface Job<N extends QueueName> {
  id: string;
  name: N;
  data: JobData[N];
}

export interface WorkOptions {
  /** jobs handed to one handler call (caption requests are decoded together), default 1 */
  batchSize?: number;
  /** idle polling period, default 1 s (pg-boss minimum 0.5 s) */
  pollingIntervalSeconds?: number;
}

export interface StopOptions {
  /** true (default): stop fetching, wait up to `timeoutMs` for running handlers, then fail what is left */
  graceful?: boolean;
  timeoutMs?: number;
}

export interface JobQueue {
  start(): Promise<void>;
  stop(options?: StopOptions): Promise<void>;
  /** inserts the job in `tx`: it exists only if that transaction commits */
  /** `startAfterSeconds`: not fetched before then (a run handed back for another worker) */
  enqueueTraining(tx: TransactionClient, data: JobData['training'], options?: { startAfterSeconds?: number }): Promise<string>;
  enqueueCaption(tx: TransactionClient, data: JobData['caption']): Promise<string>;
  enqueueDataset(tx: TransactionClient, data: JobData['dataset']): Promise<string>;
  enqueueEvaluation(tx: TransactionClient, data: JobData['evaluation']): Promise<string>;
  /** a BulkCaptionJob's job (its first, or the next slice of it) at the job's priority */
  enqueueBulkCaption(tx: TransactionClient, data: JobData['bulk-caption'], priority: JobPriority): Promise<string>;
  /** Handlers get arrays of jobs; a throw fails (and retries, for captions) all of them. Returns the worker id. */
  work<N extends QueueName>(
    name: N,
    options: WorkOptions,
    handler: (jobs: Job<N>[], context: WorkContext<Job<N>>) => Promise<void>,
  ): Promise<string>;
  /** stops fetching for `name` on this queue instance; handlers already running are not awaited */
  offWork(name: QueueName): Promise<void>;
  /**
   * live jobs waiting to be picked up (created or waiting for a retry) whose row still wants them: a
   * QUEUED run, an unfinished caption request, a PENDING dataset. A cancelled queued run's job stays
   * in pg-boss until a worker fetches and drops it, but is not counted.
   */
  depth(): Promise<Record<QueueName, number>>;
  /** the same jobs per queue, with the age in seconds of the one waiting longest (0 when none waits) */
  waiting(): Promise<Record<QueueName, { depth: number; oldestAgeSeconds: number }>>;
  /** pg-boss errors (maintenance, fetch); without a listener they are dropped */
  onError(listener: (error: Error) => void): void;
}

export interface QueueOptions {
  /** how often expired caption jobs are swept (pg-boss maintenance), default 10 s */
  maintenanceIntervalSeconds?: number;
  /** pg pool size of this queue, default 4 */
  max?: number;
  /** wake this queue's workers on `job` NOTIFYs (default true); false: polling ticks only */
  wakeOnNotify?: boolean;
}

export type { WorkContext } from './work-context.ts';
export { datasetExpirySeconds } from './policies.ts';

export class QueueError extends Error {
  constructor(
    readonly code: 'QUEUE_NOT_STARTED' | 'QUEUE_ENQUEUE_FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'QueueError';
  }
}

/** pg-boss `db` option backed by a Prisma interactive transaction */
function transactionExecutor(tx: TransactionClient): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const params = values.map((v) =>
        v === undefined ? null : typeof v === 'object' && v !== null && !(v instanceof Date) ? JSON.stringify(v) : v,
      );
      const rows = await tx.$queryRawUnsafe<Record<string, unknown>[]>(text, ...params);
      return { rows };
    },
  };
}

class PgBossQueue implements JobQueue {
  private readonly boss: PgBoss;
  private started = false;
  /** the LISTEN connection for wake-ups, opened by the first work() */
  private bus: Promise<EventBus> | undefined;
  private readonly wakeUps = new Map<QueueName, AsyncIterableIterator<void>[]>();
  private readonly errorListeners: ((error: Error) => void)[] = [];
  /** queues whose work was stopped (offWork): their handlers' `more` fetches nothing */
  private readonly stoppedWork = new Set<QueueName>();

  constructor(
    private readonly url: string,
    private readonly options: QueueOptions,
  ) {
    this.boss = new PgBoss({
      connectionString: url,
      schema: QUEUE_SCHEMA,
      application_name: 'glimpse-queue',
      max: options.max ?? 4,
      schedule: false,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 10,
    });
    // pg-boss emits 'error' on its EventEmitter; an unhandled 'error' event would crash the process
    this.boss.on('error', () => undefined);
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    for (const queue of Object.values(QUEUES)) {
      // both are idempotent and safe to race; update applies changed policies to existing queues
      await this.boss.createQueue(queue.name, { ...queue });
      await this.boss.updateQueue(queue.name, { ...queue });
    }
    this.started = true;
  }

  async stop({ graceful = true, timeoutMs = 30_000 }: StopOptions = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const name of [...this.wakeUps.keys()]) this.endWakeUps(name);
    const bus = this.bus;
    this.bus = undefined;
    await bus?.then((b) => b.close()).catch(() => undefined);
    await this.boss.stop({ graceful, wait: true, timeout: timeoutMs });
  }

  async enqueueTraining(tx: TransactionClient, data: JobData['training'], options: { startAfterSeconds?: number } = {}): Promise<string> {
    // every job of a run (first, resumed, handed back, reaped) at the run's priority
    const run = await tx.trainingRun.findUnique({ where: { id: data.runId }, select: { priority: true } });
    return this.send(tx, 'training', data, {
      ...priorityOption(run?.priority),
      ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
    });
  }

  enqueueCaption(tx: TransactionClient, data: JobData['caption']): Promise<string> {
    return this.send(tx, 'caption', data);
  }

  enqueueDataset(tx: TransactionClient, data: JobData['dataset']): Promise<string> {
    return this.send(tx, 'dataset', data, { expireInSeconds: datasetExpirySeconds(data.images) });
  }

  async enqueueEvaluation(tx: TransactionClient, data: JobData['evaluation']): Promise<string> {
    // every job of an evaluation (first, handed back, reaped) at its priority
    const row = await tx.evaluation.findUnique({ where: { id: data.evaluationId }, select: { priority: true } });
    return this.send(tx, 'evaluation', data, priorityOption(row?.priority));
  }

  enqueueBulkCaption(tx: TransactionClient, data: JobData['bulk-caption'], priority: JobPriority): Promise<string> {
    return this.send(tx, 'bulk-caption', data, priorityOption(priority));
  }

  async work<N extends QueueName>(
    name: N,
    options: WorkOptions,
    handler: (jobs: Job<N>[], context: WorkContext<Job<N>>) => Promise<void>,
  ): Promise<string> {
    this.assertStarted();
    this.stoppedWork.delete(name);
    const context = workContext<N, JobData[N]>(this.boss, name, () => !this.started || this.stoppedWork.has(name));
    // listen before the first fetch: a job committed in between is fetched by it, later ones wake it
    const wakeUps = this.options.wakeOnNotify === false ? undefined : (await this.eventBus()).subscribe('job', name);
    const batchSize = options.batchSize ?? 1;
    let workerId: string | undefined;
    workerId = await this.boss.work<JobData[N]>(
      name,
      { batchSize, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1 },
      async (jobs) => {
        await handler(
          jobs.map((j) => ({ id: j.id, name, data: j.data })),
          context,
        );
        // a full batch (of a batching queue: captions): more are likely waiting, a burst whose wake-ups all
        // arrived before this fetch; fetch again at once instead of sleeping out the rest of the polling interval
        if (batchSize > 1 && jobs.length >= batchSize && workerId !== undefined) this.boss.notifyWorker(workerId);
      },
    );
    if (wakeUps) {
      this.wakeUps.set(name, [...(this.wakeUps.get(name) ?? []), wakeUps]);
      void (async () => {
        for await (const _ of wakeUps) this.boss.notifyWorker(workerId);
      })();
    }
    return workerId;
  }

  offWork(name: QueueName): Promise<void> {
    this.stoppedWork.add(name);
    this.endWakeUps(name);
    return this.boss.offWork(name);
  }

  async depth(): Promise<Record<QueueName, number>> {
    const waiting = await this.waiting();
    return Object.fromEntries(QUEUE_NAMES.map((n) => [n, waiting[n].depth])) as Record<QueueName, number>;
  }

  async waiting(): Promise<Record<QueueName, { depth: number; oldestAgeSeconds: number }>> {
    this.assertStarted();
    const { rows } = await this.boss.getDb().executeSql(LIVE_DEPTH_SQL, []);
    const none = { depth: 0, oldestAgeSeconds: 0 };
    const waiting = Object.fromEntries(QUEUE_NAMES.map((n) => [n, none])) as Record<QueueName, { depth: number; oldestAgeSeconds: number }>;
    for (const row of rows as { name: QueueName; count: string; oldest: string | null }[]) {
      waiting[row.name] = { depth: Number(row.count), oldestAgeSeconds: Math.max(0, Number(row.oldest ?? 0)) };
    }
    return waiting;
  }

  onError(listener: (error: Error) => void): void {
    this.boss.on('error', listener);
    this.errorListeners.push(listener);
  }

  private eventBus(): Promise<EventBus> {
    this.bus ??= createEventBus(this.url, { onError: (e) => this.errorListeners.forEach((l) => l(e)) });
    const bus = this.bus;
    bus.catch(() => {
      if (this.bus === bus) this.bus = undefined;
    });
    return bus;
  }

  private endWakeUps(name: QueueName): void {
    for (const it of this.wakeUps.get(name) ?? []) void it.return?.();
    this.wakeUps.delete(name);
  }

  private async send<N extends QueueName>(
    tx: TransactionClient,
    name: N,
    data: JobData[N],
    options: { expireInSeconds?: number; startAfter?: number; priority?: number } = {},
  ): Promise<string> {
    this.assertStarted();
    const id = await this.boss.send(name, data, { ...options, db: transactionExecutor(tx) });
    if (id === null) throw new QueueError('QUEUE_ENQUEUE_FAILED', `pg-boss did not create the ${name} job`);
    // delivered when `tx` commits, never if it rolls back
    await notify(tx, 'job', name);
    return id;
  }

  private assertStarted(): void {
    if (!this.started) throw new QueueError('QUEUE_NOT_STARTED', 'call start() before using the queue');
  }
}

/** Creates the queue; call start() (installs/updates the pgboss schema and the queues) before use. */
export async function createQueue(url: string, options: QueueOptions = {}): Promise<JobQueue> {
  return new PgBossQueue(url, options);
}
