// The parsed configuration's shape. Every value comes from one entry of the variable table
// (./variables.ts, which says which variable, its default and its documentation); `paths` derives
// from dataDir. The compiler checks that the table fills every field with a value of its type.
import type { BackendName } from '../ml/settings/backends.ts';
import type { QueueName } from '../queue/names.ts';

export type Backend = BackendName;
export type WorkerJob = QueueName;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DataPaths {
  /** embedded Postgres cluster */
  postgres: string;
  datasets: string;
  checkpoints: string;
  models: string;
  /** worker-local copies of artifact-store blobs (src/storage/cache.ts), LRU-bounded by cacheMaxBytes */
  cache: string;
  /** uploads in progress, one folder per API process; swept at start-up (src/storage/temp.ts) */
  tmp: string;
}

export interface Config {
  /** PORT */
  port: number;
  /** DATABASE_URL; unset → embedded Postgres under dataDir */
  databaseUrl?: string;
  /** GLIMPSE_DATA_DIR, absolute */
  dataDir: string;
  /** folders under dataDir */
  paths: DataPaths;
  /** GLIMPSE_API_KEYS: admin keys; empty and no managed key (src/keys) → everything is open */
  apiKeys: readonly string[];
  /** GLIMPSE_API_KEY_CACHE_SECONDS: how long an API process caches a key lookup (revocations also NOTIFY) */
  apiKeyCacheSeconds: number;
  /** GLIMPSE_BACKEND; unset → the ML layer picks the best available */
  backend?: Backend;
  /** GLIMPSE_MAX_IMAGE_BYTES: largest image requestCaption accepts (upload or base64) */
  maxImageBytes: number;
  /** GLIMPSE_CPUS: CPUs a worker's threads may use; unset → detected (src/process/cpu-budget.ts) */
  cpus?: number;
  /** GLIMPSE_WASM_THREADS: XNNPACK threads of the wasm backend (threaded build at ≥ 2); unset → from the CPUs */
  wasmThreads?: number;
  /** GLIMPSE_NATIVE_KERNELS (or its deprecated alias GLIMPSE_NATIVE_GEMM): wasm's kernels on the native addon when built */
  nativeKernels: boolean;
  /** OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or OMP_NUM_THREADS: the native kernels' OpenBLAS threads; unset → from the CPUs */
  blasThreads?: number;
  /** OPENBLAS_CORETYPE as the environment set it; unset → prepareNativeEnvironment chooses one from the CPU */
  openBlasCore?: string;
  /** GLIMPSE_CAPTION_BATCH_SIZE: caption requests a worker takes and decodes together (per model) */
  captionBatchSize: number;
  /** GLIMPSE_LOG_LEVEL */
  logLevel: LogLevel;
  /** GLIMPSE_PG_PORT: preferred port of the embedded Postgres (a free one if taken) */
  embeddedPgPort: number;
  /** GLIMPSE_COCO_BASE_URL: mirror for `glimpse dataset coco --download`; unset → images.cocodataset.org */
  cocoBaseUrl?: string;
  /** GLIMPSE_DATASET_ROOTS: absolute folders that server paths from clients (COCO files, backbone model.json) must lie under, symlinks resolved */
  datasetRoots: readonly string[];
  /** where and how the worker may download pretrained backbones (src/sources) */
  backboneDownloads: BackboneDownloads;
  /** GLIMPSE_KEEP_CAPTION_IMAGES: keep a caption request's image after it ends */
  keepCaptionImages: boolean;
  /** GLIMPSE_MAX_SYNTHETIC_IMAGES: largest synthetic set createDataset accepts */
  maxSyntheticImages: number;
  /** GLIMPSE_MAX_DATASET_UPLOAD_BYTES: largest zip createDataset(archive) accepts (it may unpack to 4× that) */
  maxDatasetUploadBytes: number;
  /** GLIMPSE_WORKER_MAX_MEMORY: memory a training run may need (estimated from its settings); larger runs are refused */
  workerMaxMemory: number;
  /** GLIMPSE_CACHE_MAX_BYTES: bound of the worker's artifact cache under dataDir/cache (least recently used evicted first) */
  cacheMaxBytes: number;
  /** GLIMPSE_MIN_FREE_DISK: free bytes of the data dir's filesystem under which a worker's disk counts as full (no training jobs) */
  minFreeDiskBytes: number;
  /** GLIMPSE_WORKER_JOBS: the queues a worker takes jobs from */
  workerJobs: readonly WorkerJob[];
  /** GLIMPSE_CAPTION_WORKER: `npm start` runs a second worker process for captions beside the one that trains */
  captionWorker: boolean;
  /** GLIMPSE_HEARTBEAT_SECONDS: worker heartbeat period; a run is reclaimed after 3 missed beats or its longer stated lease */
  heartbeatSeconds: number;
  /** GLIMPSE_DB_GRACE_SECONDS: how long the API waits for a lost database (answering 503) before it exits non-zero (69); 0 = forever */
  dbGraceSeconds: number;
  /** HOST: the address the API listens on */
  host: string;
  /** GLIMPSE_PUBLIC_READ: with API keys set, queries and subscriptions stay open to callers without a key */
  publicRead: boolean;
  /** per-request GraphQL limits (src/server/limits.ts; docs/security.md) */
  queryLimits: QueryLimits;
  /** GLIMPSE_MUTATIONS_PER_MINUTE: mutations one client without a valid API key (its IP address) may send per minute; 0 = unlimited */
  mutationsPerMinute: number;
  /** GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: mutations one valid API key may send per minute, whatever its address; 0 = unlimited */
  mutationsPerMinutePerKey: number;
  /** GLIMPSE_CAPTION_QUEUE_LIMIT: caption jobs waiting beyond which requestCaption answers SERVICE_OVERLOADED */
  captionQueueLimit: number;
  /** the API's Postgres pool (src/db/client.ts) */
  dbPool: DbPool;
  /** what one client may hold over graphql-ws (src/server/connection-limits.ts) */
  webSocketLimits: WebSocketLimits;
  /** the decode budget of an uploaded zip's images (src/sources/archive-images.ts) */
  datasetChecks: DatasetChecks;
  /** GLIMPSE_MAX_IMAGE_PIXELS: largest caption image in pixels (width × height, read from its header) */
  maxImagePixels: number;
  /** Prometheus metrics and health probes (src/process/metrics.ts, src/server/health.ts) */
  metrics: MetricsSettings;
  /** GLIMPSE_TEST_WASM_FAULT, tests only: a file whose presence makes the next training job hit a real wasm trap */
  testWasmFault?: string;
}

export interface MetricsSettings {
  /** GLIMPSE_METRICS_PORT: a standalone worker serves /metrics, /livez and /readyz on this port; 0 = not served */
  port: number;
  /** GLIMPSE_METRICS_MAX_OPERATION_NAMES: distinct GraphQL operation names an API process labels; later ones count as `other` */
  maxOperationNames: number;
  /** GLIMPSE_METRICS_MAX_MODELS: distinct model names a worker labels caption counts with; later ones count as `other` */
  maxModels: number;
  /** GLIMPSE_LIVEZ_MAX_DELAY_SECONDS: /livez fails once the event loop was held this long within the last 5–10 s */
  livezMaxDelaySeconds: number;
  /** GLIMPSE_DRAIN_DELAY_SECONDS: after the first stop signal the API goes on serving (with /readyz 503) this long before the drain */
  drainDelaySeconds: number;
}

export interface QueryLimits {
  /** GLIMPSE_MAX_QUERY_LENGTH: characters of the query text, checked before parsing */
  maxLength: number;
  /** GLIMPSE_MAX_QUERY_TOKENS: lexical tokens; parsing stops at the first one over */
  maxTokens: number;
  /** GLIMPSE_MAX_QUERY_DEPTH: nesting of selections */
  maxDepth: number;
  /** GLIMPSE_MAX_QUERY_ALIASES: aliases per operation */
  maxAliases: number;
  /** GLIMPSE_MAX_QUERY_DIRECTIVES: directives per operation */
  maxDirectives: number;
  /** GLIMPSE_MAX_QUERY_COST: estimated rows per operation, lists priced by their size arguments */
  maxCost: number;
}

/** The API process's node-postgres pool, which Prisma and requestCaption's statement share. */
export interface DbPool {
  /** GLIMPSE_DB_POOL_SIZE: connections at most */
  size: number;
  /** GLIMPSE_DB_POOL_WAIT_MS: longest wait for a free connection before the operation answers SERVICE_OVERLOADED; 0 = forever */
  waitMs: number;
}

/** What one client may hold over graphql-ws; 0 = no limit. */
export interface WebSocketLimits {
  /** GLIMPSE_WS_CONNECTIONS_PER_ADDRESS: open WebSockets per client IP address; one more is closed with 1013 */
  connectionsPerAddress: number;
  /** GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION: operations (subscriptions, queries and mutations still running) at once on one WebSocket */
  subscriptionsPerConnection: number;
}

/** How much decoding one uploaded dataset zip may ask of the API process, and how fast. */
export interface DatasetChecks {
  /** GLIMPSE_MAX_DECODED_IMAGE_BYTES: width × height × channels × bytes per sample of one image, from its header */
  maxImageDecodedBytes: number;
  /** GLIMPSE_MAX_DATASET_DECODED_BYTES: the same summed over the zip's captioned images */
  maxDecodedBytes: number;
  /** GLIMPSE_DATASET_CHECK_SECONDS: longest one zip's unpack and image checks may take, waiting included */
  seconds: number;
  /** GLIMPSE_DATASET_CHECK_THREADS: threads decoding uploaded images, one image each, for all uploads together */
  threads: number;
}

export interface BackboneDownloads {
  /** GLIMPSE_BACKBONE_HOSTS: `host` (default ports) or `host:port` entries every URL and redirect must match */
  hosts: readonly string[];
  /** GLIMPSE_BACKBONE_ALLOW_PRIVATE: non-public addresses (loopback, private, link-local, …) the worker may still connect to, as CIDR ranges */
  allowPrivate: readonly string[];
  /** GLIMPSE_BACKBONE_MAX_BYTES: model.json plus weight files of one backbone */
  maxBytes: number;
  /** GLIMPSE_BACKBONE_TIMEOUT_SECONDS: longest silence while connecting or reading */
  timeoutSeconds: number;
}

/** 'port' | 'queryLimits.maxLength' | …: where in Config a value goes */
export type FieldPath<T = Config> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends string | number | boolean | readonly unknown[]
    ? K
    : `${K}.${FieldPath<NonNullable<T[K]>>}`;
}[keyof T & string];

/** the type of the value at a FieldPath */
export type ValueAt<T, P extends string> = P extends `${infer K}.${infer Rest}`
  ? K extends keyof T
    ? ValueAt<NonNullable<T[K]>, Rest>
    : never
  : P extends keyof T
    ? T[P]
    : never;
