// What every job function receives besides its payload (graphile-worker style: a task is a plain
// `(payload, helpers) => Promise<void>`).
import type { Config } from '../config/index.ts';
import type { PrismaClient } from '../db/client.ts';
import { errFields, type Logger } from '../log.ts';
import type { WorkerMetrics } from './metrics.ts';
import type { MlRuntimeGuard } from './ml-runtime.ts';
import { publicErrorMessage } from './public-error.ts';
import type { JobQueue } from '../queue/queue.ts';

export interface JobLogger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
  warn?(message: string): void;
  /** per-batch detail (GLIMPSE_LOG_LEVEL=debug) */
  debug?(message: string): void;
  /** the same logger with more ids on every line (e.g. `runId`) */
  child?(fields: Record<string, string>): JobLogger;
}

/** A JobLogger writing through the process's pino logger (src/log.ts). */
export function jobLogger(logger: Logger): JobLogger {
  return {
    info: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
    debug: (message) => logger.debug(message),
    error: (message, error) => (error === undefined ? logger.error(message) : logger.error(errFields(error), message)),
    child: (fields) => jobLogger(logger.child(fields)),
  };
}

/** `log` with `fields` on every line when it supports child loggers, else `log` itself */
export function withFields(log: JobLogger, fields: Record<string, string>): JobLogger {
  return log.child ? log.child(fields) : log;
}

export interface JobHelpers {
  config: Config;
  prisma: PrismaClient;
  queue: Pick<JobQueue, 'enqueueTraining'>;
  /** this worker's id (TrainingRun.workerId, CaptionRequest.workerId, Worker.id) */
  workerId: string;
  log: JobLogger;
  /** aborted when the worker shuts down gracefully: hand running work back */
  shutdown: AbortSignal;
  /** the ML runtime's health: `beforeWork()` before ML work, `failed(error)` when a job fails */
  runtime?: MlRuntimeGuard;
  /** a job found the data disk full (ENOSPC): the worker measures it again at once (src/jobs/disk-space.ts) */
  onDiskFull?: () => void;
  /** this process's metrics (src/jobs/metrics.ts); none: nothing is counted */
  metrics?: WorkerMetrics;
}

export class JobError extends Error {
  constructor(
    readonly code: 'DATASET_NOT_READY' | 'RUN_CONFIG_INVALID' | 'MODEL_MISSING' | 'OVER_MEMORY_BUDGET' | 'DIVERGED',
    message: string,
  ) {
    super(message);
    this.name = 'JobError';
  }
}

/** the message of anything thrown, for an `error` column */
export function errorMessage(error: unknown): string {
  // rows are public: the data layer's errors lose their paths and file contents (src/jobs/public-error.ts)
  return publicErrorMessage(error);
}
