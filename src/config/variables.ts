// THE environment variables: one entry each (name, parser with its bounds and default, the default as
// documented, what it does, its section, and the Config field it fills). loadConfig, the list of known
// GLIMPSE_* names, readVariable and the documentation check (test/config/wired.test.ts) all read this
// table; nothing else lists the variables.
import { BACKEND_NAMES } from '../ml/settings/backends.ts';
import { boolean, byteSize, integer, oneOf, onOff, optionalInteger, presence, text, threadCount, url } from './parse.ts';
import { LIMIT_VARIABLES } from './limit-variables.ts';
import { type FieldPath, LOG_LEVELS } from './types.ts';
import { fills, GiB, MiB, type Variable } from './variable.ts';
export type { Section, Variable } from './variable.ts';
import {
  apiKeys,
  backboneHosts,
  databaseUrl,
  dataDir,
  datasetRoots,
  defaultWorkerMemory,
  listenHost,
  privateRanges,
  workerJobs,
} from './values.ts';

export const VARIABLES = {
  PORT: fills('port', { section: 'server', default: '`4000`', doc: 'HTTP + WebSocket port', parse: integer(4000, 0, 65535) }),
  HOST: fills('host', { section: 'server', default: '`127.0.0.1`', doc: 'address the API listens on', parse: listenHost }),
  DATABASE_URL: fills('databaseUrl', {
    section: 'database',
    default: 'unset → embedded Postgres',
    doc: 'PostgreSQL connection string',
    parse: databaseUrl,
  }),
  GLIMPSE_DATA_DIR: fills('dataDir', {
    section: 'storage',
    default: '`./.glimpse`',
    doc: "embedded Postgres, a worker's scratch and cache",
    parse: dataDir,
  }),
  GLIMPSE_API_KEYS: fills('apiKeys', {
    section: 'server',
    default: 'unset (open)',
    doc: 'comma-separated bearer keys, each with every scope (admin)',
    parse: apiKeys,
  }),
  GLIMPSE_API_KEY_CACHE_SECONDS: fills('apiKeyCacheSeconds', {
    section: 'server',
    default: '`5`',
    doc: 'how long an API process trusts a managed key it looked up without a revocation notice',
    parse: integer(5, 1, 300),
  }),
  GLIMPSE_BACKEND: fills('backend', {
    section: 'ml',
    default: 'best available',
    doc: `TensorFlow.js backend: ${BACKEND_NAMES.join(', ')}`,
    parse: oneOf(BACKEND_NAMES),
  }),
  GLIMPSE_CPUS: fills('cpus', {
    section: 'ml',
    default: "the usable CPUs (cgroup CPU quota, the process's CPU affinity)",
    doc: "CPUs a worker's threads may use; `npm start` splits them between its workers",
    parse: optionalInteger(1, 1024),
  }),
  GLIMPSE_WASM_THREADS: fills('wasmThreads', {
    section: 'ml',
    default: 'from the CPUs',
    doc: 'XNNPACK threads of the wasm backend',
    parse: optionalInteger(1, 8),
  }),
  GLIMPSE_NATIVE_KERNELS: fills('nativeKernels', {
    section: 'ml',
    default: '`on`',
    doc: "`off` keeps wasm's kernels on XNNPACK even where the native OpenBLAS addon is built",
    parse: onOff(true),
    deprecated: ['GLIMPSE_NATIVE_GEMM'],
  }),
  OPENBLAS_NUM_THREADS: fills('blasThreads', {
    section: 'ml',
    default: 'from the CPUs',
    doc: "OpenBLAS threads of the native kernels (OpenBLAS's own variables; a value that is not a positive integer is ignored)",
    parse: threadCount,
    aliases: ['GOTO_NUM_THREADS', 'OMP_NUM_THREADS'],
  }),
  OPENBLAS_CORETYPE: fills('openBlasCore', {
    section: 'ml',
    default: "the newest core this CPU's flags support",
    doc: "OpenBLAS's kernel family; kept when set, else chosen before the addon loads (old OpenBLAS misdetects new CPUs)",
    parse: text,
  }),
  // a batch costs little more than one image on small models (bench/caption-batch.ts: the demo architecture decodes
  // 64 in ~2.7× the time of 16), so a burst drains in fewer, fuller batches
  GLIMPSE_CAPTION_BATCH_SIZE: fills('captionBatchSize', {
    section: 'worker',
    default: '`64`',
    doc: 'caption requests a worker decodes together per model',
    parse: integer(64, 1, 256),
  }),
  GLIMPSE_LOG_LEVEL: fills('logLevel', {
    section: 'logging',
    default: '`info`',
    doc: 'the least severe log line written',
    parse: oneOf(LOG_LEVELS, 'info'),
  }),
  GLIMPSE_PG_PORT: fills('embeddedPgPort', {
    section: 'database',
    default: '`5433`',
    doc: 'preferred port of the embedded Postgres',
    parse: integer(5433, 1, 65535),
  }),
  GLIMPSE_HEARTBEAT_SECONDS: fills('heartbeatSeconds', {
    section: 'worker',
    default: '`2`',
    doc: 'worker heartbeat period',
    parse: integer(2, 1, 300),
  }),
  GLIMPSE_COCO_BASE_URL: fills('cocoBaseUrl', {
    section: 'datasets',
    default: '`http://images.cocodataset.org`',
    doc: 'mirror for `dataset coco --download`',
    parse: url(['http:', 'https:'], 'an http(s)://'),
  }),
  GLIMPSE_DB_GRACE_SECONDS: fills('dbGraceSeconds', {
    section: 'database',
    default: '`300`',
    doc: 'how long the API waits for a lost database before it exits; 0 = forever',
    parse: integer(300, 0, 86_400),
  }),
  GLIMPSE_DB_POOL_SIZE: fills('dbPool.size', {
    section: 'database',
    default: '`10`',
    doc: "connections of the API's Postgres pool",
    parse: integer(10, 1, 1000),
  }),
  GLIMPSE_DB_POOL_WAIT_MS: fills('dbPool.waitMs', {
    section: 'database',
    default: '`5000`',
    doc: 'longest wait for a free API pool connection before the operation answers SERVICE_OVERLOADED; 0 = forever',
    parse: integer(5000, 0, 600_000),
  }),
  GLIMPSE_DATASET_ROOTS: fills('datasetRoots', {
    section: 'datasets',
    default: 'the data directory',
    doc: 'absolute folders server paths from clients must lie under',
    parse: datasetRoots,
  }),
  GLIMPSE_BACKBONE_HOSTS: fills('backboneDownloads.hosts', {
    section: 'datasets',
    default: '`storage.googleapis.com,tfhub.dev,www.kaggle.com`',
    doc: 'where backbone URLs, and every redirect, may go',
    parse: backboneHosts,
  }),
  GLIMPSE_BACKBONE_ALLOW_PRIVATE: fills('backboneDownloads.allowPrivate', {
    section: 'datasets',
    default: '`false`',
    doc: 'non-public addresses a backbone may still come from',
    parse: privateRanges,
  }),
  GLIMPSE_KEEP_CAPTION_IMAGES: fills('keepCaptionImages', {
    section: 'storage',
    default: '`false`',
    doc: "keep a caption request's image after the caption ends",
    parse: boolean(false),
  }),
  GLIMPSE_PUBLIC_READ: fills('publicRead', {
    section: 'server',
    default: '`false`',
    doc: 'with keys set, queries and subscriptions stay open to callers without one',
    parse: boolean(false),
  }),
  GLIMPSE_WORKER_MAX_MEMORY: fills('workerMaxMemory', {
    section: 'worker',
    default: 'half the RAM, at most 3.5 GiB',
    doc: 'memory a training run may need: automatic settings shrink to fit it, given ones that cannot fit are refused (at least 128 MiB, what the defaults need at their smallest)',
    parse: byteSize(defaultWorkerMemory, 128 * MiB, 2 ** 50),
  }),
  GLIMPSE_CACHE_MAX_BYTES: fills('cacheMaxBytes', {
    section: 'storage',
    default: '`5GiB`',
    doc: "bound of a worker's artifact cache",
    parse: byteSize(5 * GiB, 0, 2 ** 50),
  }),
  GLIMPSE_MIN_FREE_DISK: fills('minFreeDiskBytes', {
    section: 'worker',
    default: '`256MiB`',
    doc: "free space of the data dir's filesystem under which a worker counts its disk as full and takes no training jobs",
    parse: byteSize(256 * MiB, 0, 2 ** 50),
  }),
  GLIMPSE_WORKER_JOBS: fills('workerJobs', {
    section: 'worker',
    default: '`training,caption,dataset,evaluation,bulk-caption`',
    doc: 'the queues a worker takes jobs from (`training` implies `evaluation`)',
    parse: workerJobs,
  }),
  GLIMPSE_CAPTION_WORKER: fills('captionWorker', {
    section: 'worker',
    default: '`true`',
    doc: '`npm start` runs a second worker process for captions only',
    parse: boolean(true),
  }),
  GLIMPSE_METRICS_PORT: fills('metrics.port', {
    section: 'server',
    default: '`0` (off)',
    doc: "port of a standalone worker's /metrics, /livez and /readyz",
    parse: integer(0, 0, 65535),
  }),
  GLIMPSE_METRICS_MAX_OPERATION_NAMES: fills('metrics.maxOperationNames', {
    section: 'server',
    default: '`50`',
    doc: 'distinct GraphQL operation names labelled in /metrics; the rest count as `other`',
    parse: integer(50, 1, 1000),
  }),
  GLIMPSE_METRICS_MAX_MODELS: fills('metrics.maxModels', {
    section: 'server',
    default: '`20`',
    doc: 'distinct model names labelled in caption metrics; the rest count as `other`',
    parse: integer(20, 1, 1000),
  }),
  GLIMPSE_LIVEZ_MAX_DELAY_SECONDS: fills('metrics.livezMaxDelaySeconds', {
    section: 'server',
    default: '`10`',
    doc: '/livez fails once the event loop was held this long',
    parse: integer(10, 1, 3600),
  }),
  GLIMPSE_DRAIN_DELAY_SECONDS: fills('metrics.drainDelaySeconds', {
    section: 'server',
    default: '`0`',
    doc: 'after the first stop signal the API answers /readyz 503 and goes on serving this long before the drain starts',
    parse: integer(0, 0, 600),
  }),
  GLIMPSE_DEBUG: { section: 'tools', default: 'unset', doc: 'the CLI prints stack traces with its errors', parse: presence },
  GLIMPSE_TORCH_PYTHON: {
    section: 'tools',
    default: 'python3',
    doc: "the bench's Python interpreter with torch (bench/torch.ts reads it)",
    parse: text,
  },
  GLIMPSE_TEST_WASM_FAULT: fills('testWasmFault', {
    section: 'testing',
    default: 'unset',
    doc: 'tests only: a file whose presence makes the next training job hit a real wasm trap (src/jobs/ml-runtime.ts)',
    parse: text,
  }),

  ...LIMIT_VARIABLES,
} satisfies Record<string, Variable<unknown>>;

export type VariableName = keyof typeof VARIABLES;
/** the parsed type of a variable */
export type VariableValue<N extends VariableName> = (typeof VARIABLES)[N] extends Variable<infer T> ? T : never;

type FilledPath = { [N in VariableName]: (typeof VARIABLES)[N] extends { field: infer P } ? P : never }[VariableName];
/** every Config value but the paths under dataDir comes from a variable: the compiler names a missing one here */
type Unfilled = Exclude<FieldPath, FilledPath | `paths.${string}`>;
true satisfies [Unfilled] extends [never] ? true : { unfilled: Unfilled };
