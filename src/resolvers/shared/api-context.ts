// What every resolver receives. Built per HTTP request / per graphql-ws operation by src/server.
import type { DataPaths, DatasetChecks } from '../../config/index.ts';
import type { PrismaClient } from '../../db/client.ts';
import type { EventBus } from '../../events/index.ts';
import type { Caller } from '../../keys/scopes.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../queue/queue.ts';
import type { ImageCheckPool } from '../../sources/image-check-pool.ts';

export interface ApiLimits {
  /** largest accepted caption image, in bytes */
  maxImageBytes: number;
  /** GLIMPSE_WORKER_MAX_MEMORY: training runs estimated to need more are refused */
  maxTrainingMemory: number;
  /** largest caption image in pixels (width × height, read from the header before any decoding) */
  maxImagePixels: number;
  /** GLIMPSE_CAPTION_QUEUE_LIMIT: caption jobs waiting beyond which requestCaption answers SERVICE_OVERLOADED */
  captionQueueLimit: number;
  /** largest synthetic dataset createDataset accepts (GLIMPSE_MAX_SYNTHETIC_IMAGES) */
  maxSyntheticImages: number;
  /** largest zip createDataset(archive) accepts (GLIMPSE_MAX_DATASET_UPLOAD_BYTES) */
  maxDatasetUploadBytes: number;
  /** the decode budget of an uploaded zip's images and its deadline */
  datasetChecks: DatasetChecks;
}

/** Where client-named sources may come from (src/sources checks them; the worker checks again). */
export interface SourcePolicy {
  /** GLIMPSE_DATASET_ROOTS: server paths (COCO files, backbone model.json) must lie under one of them */
  datasetRoots: readonly string[];
  /** GLIMPSE_BACKBONE_HOSTS: backbone URLs' host or host:port */
  hosts: readonly string[];
  /** GLIMPSE_BACKBONE_ALLOW_PRIVATE: non-public address ranges allowed anyway */
  allowPrivate: readonly string[];
}

export interface ApiContext {
  prisma: PrismaClient;
  /** wake-ups only: the rows themselves are read from the database */
  events: EventBus;
  /** jobs are enqueued in the transaction that writes their rows */
  queue: Pick<
    JobQueue,
    'enqueueTraining' | 'enqueueCaption' | 'enqueueDataset' | 'enqueueEvaluation' | 'enqueueBulkCaption' | 'depth' | 'waiting'
  >;
  limits: ApiLimits;
  /** the data folders (config.paths) whose per-row subfolders the delete mutations remove */
  paths: Pick<DataPaths, 'datasets' | 'checkpoints' | 'models'>;
  sources: SourcePolicy;
  /** this API process's folder under <dataDir>/tmp (src/storage/temp.ts): uploads are buffered and unpacked there */
  tempDir: () => string;
  /** the API process's threads that read and decode uploaded images (one pool for every request) */
  imageChecks: ImageCheckPool;
  /** workers whose lastSeenAt is older than this are not counted as live */
  workerTimeoutMs: number;
  /**
   * who presented which key (src/server/keyring.ts): its name and scopes; no key configured anywhere → every
   * caller may do everything. The token itself is not kept.
   */
  caller: Caller;
  /** id echoed in masked internal errors and in the server log */
  requestId: string;
  /** the client's IP address (the socket's peer; proxies' X-Forwarded-For is not trusted) */
  clientAddress: string;
  /**
   * this request's logger: a child of the API's logger carrying `requestId`, `clientAddress` and, once
   * known, `operation` (the operation's name), so that every line of the request can be found by its id
   */
  log: Logger;
}
