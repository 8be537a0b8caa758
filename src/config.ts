// Configuration from the environment, parsed once into a typed, frozen object.
// Unknown GLIMPSE_* variables and malformed values throw a ConfigError naming the variable.
import { isAbsolute, join, resolve } from 'node:path';
import {
  apiKeys,
  boolean,
  byteSize,
  ConfigError,
  databaseUrl,
  httpUrl,
  integer,
  listenHost,
  oneOf,
  read,
  type Env,
} from './config/parse.ts';
import { backboneDownloads, datasetRoots, defaultWorkerMemory, queryLimits, workerJobs } from './config/sections.ts';

export { ConfigError };

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

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
}

export const WORKER_JOBS = ['training', 'caption', 'dataset'] as const;
export type WorkerJob = (typeof WORKER_JOBS)[number];

export interface Config {
  /** PORT, default 4000 */
  port: number;
  /** DATABASE_URL; unset → embedded Postgres under dataDir */
  databaseUrl?: string;
  /** GLIMPSE_DATA_DIR, absolute; default <cwd>/.glimpse */
  dataDir: string;
  /** folders under dataDir */
  paths: DataPaths;
  /** GLIMPSE_API_KEYS, comma-separated; empty → mutations are open */
  apiKeys: readonly string[];
  /** GLIMPSE_BACKEND; unset → the ML layer picks the best available */
  backend?: Backend;
  /** GLIMPSE_MAX_IMAGE_BYTES: largest image requestCaption accepts (upload or base64), default 10 MiB */
  maxImageBytes: number;
  /** GLIMPSE_WASM_THREADS: XNNPACK threads of the wasm backend (threaded build at ≥ 2), default 1 */
  wasmThreads: number;
  /** GLIMPSE_CAPTION_BATCH_SIZE: caption requests a worker takes and decodes together (per model), default 16 */
  captionBatchSize: number;
  /** GLIMPSE_LOG_LEVEL, default info */
  logLevel: LogLevel;
  /** GLIMPSE_PG_PORT: preferred port of the embedded Postgres, default 5433 (a free one if taken) */
  embeddedPgPort: number;
  /** GLIMPSE_COCO_BASE_URL: mirror for `glimpse dataset coco --download`; unset → images.cocodataset.org */
  cocoBaseUrl?: string;
  /** GLIMPSE_DATASET_ROOTS: absolute folders that server paths from clients (COCO files, backbone model.json) must lie under, symlinks resolved; default [dataDir] */
  datasetRoots: readonly string[];
  /** where and how the worker may download pretrained backbones (src/sources) */
  backboneDownloads: BackboneDownloads;
  /** GLIMPSE_KEEP_CAPTION_IMAGES: keep a caption request's image after it ends (default false: deleted) */
  keepCaptionImages: boolean;
  /** GLIMPSE_MAX_SYNTHETIC_IMAGES: largest synthetic set createDataset accepts, default 20000 */
  maxSyntheticImages: number;
  /** GLIMPSE_MAX_DATASET_UPLOAD_BYTES: largest zip createDataset(archive) accepts, default 200 MiB (it may unpack to 4× that) */
  maxDatasetUploadBytes: number;
  /** GLIMPSE_WORKER_MAX_MEMORY: memory a training run may need (estimated from its settings); larger runs are refused. Default: half the RAM, at most 3.5 GiB (wasm's 4 GiB heap) */
  workerMaxMemory: number;
  /** GLIMPSE_CACHE_MAX_BYTES: bound of the worker's artifact cache under dataDir/cache (least recently used evicted first), default 5 GiB */
  cacheMaxBytes: number;
  /** GLIMPSE_WORKER_JOBS: the queues a worker takes jobs from (comma-separated training, caption, dataset), default all */
  workerJobs: readonly WorkerJob[];
  /** GLIMPSE_CAPTION_WORKER: `npm start` runs a second worker process for captions beside the one that trains (default true) */
  captionWorker: boolean;
  /** GLIMPSE_HEARTBEAT_SECONDS: worker heartbeat period; a run is reclaimed after 3 missed beats or its longer stated lease. Default 2 */
  heartbeatSeconds: number;
  /** GLIMPSE_DB_GRACE_SECONDS: how long the API waits for a lost database (answering 503) before it exits non-zero (69); 0 = forever. Default 300 */
  dbGraceSeconds: number;
  /** HOST: the address the API listens on, default 127.0.0.1 (0.0.0.0: every interface) */
  host: string;
  /** GLIMPSE_PUBLIC_READ: with API keys set, queries and subscriptions stay open to callers without a key (default false) */
  publicRead: boolean;
  /** per-request GraphQL limits (src/server/limits.ts; README "Security and limits") */
  queryLimits: QueryLimits;
  /** GLIMPSE_MUTATIONS_PER_MINUTE: mutations one client (API key, else IP address) may send per minute; 0 = unlimited. Default 120 */
  mutationsPerMinute: number;
  /** GLIMPSE_MAX_IMAGE_PIXELS: largest caption image in pixels (width × height, read from its header), default 40 000 000 */
  maxImagePixels: number;
}

export interface QueryLimits {
  /** GLIMPSE_MAX_QUERY_LENGTH: characters of the query text, checked before parsing (default 32768) */
  maxLength: number;
  /** GLIMPSE_MAX_QUERY_TOKENS: lexical tokens; parsing stops at the first one over (default 2000) */
  maxTokens: number;
  /** GLIMPSE_MAX_QUERY_DEPTH: nesting of selections (default 10) */
  maxDepth: number;
  /** GLIMPSE_MAX_QUERY_ALIASES: aliases per operation (default 15) */
  maxAliases: number;
  /** GLIMPSE_MAX_QUERY_DIRECTIVES: directives per operation (default 50) */
  maxDirectives: number;
  /** GLIMPSE_MAX_QUERY_COST: estimated rows per operation, lists priced by their size arguments (default 50000) */
  maxCost: number;
}

export interface BackboneDownloads {
  /** GLIMPSE_BACKBONE_HOSTS: `host` (default ports) or `host:port` entries every URL and redirect must match */
  hosts: readonly string[];
  /**
   * GLIMPSE_BACKBONE_ALLOW_PRIVATE: non-public addresses (loopback, private, link-local, …) the worker may still
   * connect to, as CIDR ranges; `true` → every address, default none (an internal mirror or a test server)
   */
  allowPrivate: readonly string[];
  /** GLIMPSE_BACKBONE_MAX_BYTES: model.json plus weight files of one backbone, default 512 MiB */
  maxBytes: number;
  /** GLIMPSE_BACKBONE_TIMEOUT_SECONDS: longest silence while connecting or reading, default 30 */
  timeoutSeconds: number;
}

/** TF.js models on TF Hub / Kaggle: tfhub.dev redirects to www.kaggle.com, which serves from storage.googleapis.com */
export const DEFAULT_BACKBONE_HOSTS = ['storage.googleapis.com', 'tfhub.dev', 'www.kaggle.com'] as const;

export const KNOWN_GLIMPSE: ReadonlySet<string> = new Set([
  'GLIMPSE_DATA_DIR',
  'GLIMPSE_API_KEYS',
  'GLIMPSE_BACKEND',
  'GLIMPSE_MAX_IMAGE_BYTES',
  'GLIMPSE_WASM_THREADS',
  'GLIMPSE_CAPTION_BATCH_SIZE',
  'GLIMPSE_LOG_LEVEL',
  'GLIMPSE_PG_PORT',
  'GLIMPSE_HEARTBEAT_SECONDS',
  'GLIMPSE_COCO_BASE_URL',
  'GLIMPSE_DB_GRACE_SECONDS',
  'GLIMPSE_DATASET_ROOTS',
  'GLIMPSE_BACKBONE_HOSTS',
  'GLIMPSE_BACKBONE_ALLOW_PRIVATE',
  'GLIMPSE_BACKBONE_MAX_BYTES',
  'GLIMPSE_BACKBONE_TIMEOUT_SECONDS',
  'GLIMPSE_KEEP_CAPTION_IMAGES',
  'GLIMPSE_MAX_SYNTHETIC_IMAGES',
  'GLIMPSE_MAX_DATASET_UPLOAD_BYTES',
  'GLIMPSE_PUBLIC_READ',
  'GLIMPSE_MAX_QUERY_LENGTH',
  'GLIMPSE_MAX_QUERY_TOKENS',
  'GLIMPSE_MAX_QUERY_DEPTH',
  'GLIMPSE_MAX_QUERY_ALIASES',
  'GLIMPSE_MAX_QUERY_DIRECTIVES',
  'GLIMPSE_MAX_QUERY_COST',
  'GLIMPSE_MUTATIONS_PER_MINUTE',
  'GLIMPSE_MAX_IMAGE_PIXELS',
  'GLIMPSE_WORKER_MAX_MEMORY',
  'GLIMPSE_CACHE_MAX_BYTES',
  'GLIMPSE_WORKER_JOBS',
  'GLIMPSE_CAPTION_WORKER',
  // not configuration of the service, but read elsewhere: accepted so they may sit in the environment
  'GLIMPSE_DEBUG', // the CLI prints stack traces
  'GLIMPSE_TORCH_PYTHON', // the bench's PyTorch interpreter
  'GLIMPSE_NATIVE_KERNELS', // on|off: wasm's kernels on the native OpenBLAS addon when built (src/jobs/native-env.ts reads it)
  'GLIMPSE_NATIVE_GEMM', // the old name of GLIMPSE_NATIVE_KERNELS, accepted for one release
  'GLIMPSE_TEST_WASM_FAULT', // tests only: a file whose presence makes the next training job hit a wasm trap (src/jobs/ml-runtime.ts)
]);

function dataDir(env: Env): string {
  const raw = read(env, 'GLIMPSE_DATA_DIR');
  if (raw === undefined) return join(process.cwd(), '.glimpse');
  return isAbsolute(raw) ? raw : resolve(process.cwd(), raw);
}

export function loadConfig(env: Env = process.env): Config {
  for (const name of Object.keys(env)) {
    if (name.startsWith('GLIMPSE_') && !KNOWN_GLIMPSE.has(name)) {
      throw new ConfigError(name, `unknown variable (known: ${[...KNOWN_GLIMPSE].join(', ')})`);
    }
  }
  const dir = dataDir(env);
  const config: Config = {
    port: integer(env, 'PORT', 4000, 0, 65535),
    databaseUrl: databaseUrl(env),
    dataDir: dir,
    paths: Object.freeze({
      postgres: join(dir, 'postgres'),
      datasets: join(dir, 'datasets'),
      checkpoints: join(dir, 'checkpoints'),
      models: join(dir, 'models'),
      cache: join(dir, 'cache'),
    }),
    apiKeys: Object.freeze(apiKeys(env)),
    backend: oneOf(env, 'GLIMPSE_BACKEND', BACKENDS),
    maxImageBytes: integer(env, 'GLIMPSE_MAX_IMAGE_BYTES', 10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    wasmThreads: integer(env, 'GLIMPSE_WASM_THREADS', 1, 1, 8),
    captionBatchSize: integer(env, 'GLIMPSE_CAPTION_BATCH_SIZE', 16, 1, 256),
    logLevel: oneOf(env, 'GLIMPSE_LOG_LEVEL', LOG_LEVELS) ?? 'info',
    embeddedPgPort: integer(env, 'GLIMPSE_PG_PORT', 5433, 1, 65535),
    heartbeatSeconds: integer(env, 'GLIMPSE_HEARTBEAT_SECONDS', 2, 1, 300),
    dbGraceSeconds: integer(env, 'GLIMPSE_DB_GRACE_SECONDS', 300, 0, 86_400),
    cocoBaseUrl: httpUrl(env, 'GLIMPSE_COCO_BASE_URL'),
    datasetRoots: datasetRoots(env, dir),
    backboneDownloads: backboneDownloads(env),
    keepCaptionImages: boolean(env, 'GLIMPSE_KEEP_CAPTION_IMAGES', false),
    maxSyntheticImages: integer(env, 'GLIMPSE_MAX_SYNTHETIC_IMAGES', 20_000, 1, 1_000_000),
    maxDatasetUploadBytes: byteSize(env, 'GLIMPSE_MAX_DATASET_UPLOAD_BYTES', 200 * 2 ** 20, 1024, 16 * 2 ** 30),
    host: listenHost(env),
    publicRead: boolean(env, 'GLIMPSE_PUBLIC_READ', false),
    queryLimits: queryLimits(env),
    mutationsPerMinute: integer(env, 'GLIMPSE_MUTATIONS_PER_MINUTE', 120, 0, 1_000_000),
    maxImagePixels: integer(env, 'GLIMPSE_MAX_IMAGE_PIXELS', 40_000_000, 1024, 1_000_000_000),
    workerMaxMemory: byteSize(env, 'GLIMPSE_WORKER_MAX_MEMORY', defaultWorkerMemory(), 64 * 2 ** 20, 2 ** 50),
    cacheMaxBytes: byteSize(env, 'GLIMPSE_CACHE_MAX_BYTES', 5 * 2 ** 30, 0, 2 ** 50),
    workerJobs: workerJobs(env),
    captionWorker: boolean(env, 'GLIMPSE_CAPTION_WORKER', true),
  };
  if (config.cocoBaseUrl === undefined) delete config.cocoBaseUrl;
  if (config.databaseUrl === undefined) delete config.databaseUrl;
  if (config.backend === undefined) delete config.backend;
  return Object.freeze(config);
}
