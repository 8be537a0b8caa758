// What every resolver receives. Built per HTTP request / per graphql-ws operation by src/server.
import type { DataPaths } from '../config.ts';
import type { PrismaClient } from '../db/client.ts';
import type { EventBus } from '../events/index.ts';
import type { JobQueue } from '../jobs/queue.ts';

export interface ApiLimits {
  /** largest accepted caption image, in bytes */
  maxImageBytes: number;
}

export interface ApiContext {
  prisma: PrismaClient;
  /** wake-ups only: the rows themselves are read from the database */
  events: EventBus;
  /** jobs are enqueued in the transaction that writes their rows */
  queue: Pick<JobQueue, 'enqueueTraining' | 'enqueueCaption' | 'enqueueDataset' | 'depth'>;
  limits: ApiLimits;
  /** the data folders (config.paths) whose per-row subfolders the delete mutations remove */
  paths: Pick<DataPaths, 'datasets' | 'checkpoints' | 'models'>;
  /** GLIMPSE_API_KEYS; empty → mutations are open */
  apiKeys: readonly string[];
  /** workers whose lastSeenAt is older than this are not counted as live */
  workerTimeoutMs: number;
  /** bearer token presented by the client (HTTP Authorization header or graphql-ws connectionParams) */
  apiKey: string | null;
  /** id echoed in masked internal errors and in the server log */
  requestId: string;
}
