// THE environment variables: one entry each (name, parser with its bounds and default, the default as
// documented, what it does, its section, and the Config field it fills). loadConfig, the list of known
// GLIMPSE_* names, readVariable and the documentation check (test/config/wired.test.ts) all read this
// table; nothing else lists the variables.
import { BACKEND_NAMES } from '../ml/settings/backends.ts';
import { boolean, byteSize, integer, oneOf, onOff, type Parser, presence, text, threadCount, url } from './parse.ts';
import { type Config, type FieldPath, LOG_LEVELS, type ValueAt } from './types.ts';
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

/** where the documentation groups it; `testing`: test hooks, left out of the operators' documentation */
export type Section = 'server' | 'limits' | 'database' | 'storage' | 'worker' | 'ml' | 'datasets' | 'logging' | 'tools' | 'testing';

export interface Variable<T = unknown> {
  section: Section;
  /** the default as the documentation shows it (the docs' table row must contain this text) */
  default: string;
  /** what it does */
  doc: string;
  parse: Parser<T>;
  /** the Config value it fills; none: read on its own (readVariable) by the code it concerns */
  field?: FieldPath;
  /** other programs' names for the same thing, read in order when this one is unset */
  aliases?: readonly string[];
  /** former names, read last, for one release (configWarnings reports them) */
  deprecated?: readonly string[];
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** a variable that fills `path`: the compiler checks its parser returns that field's type */
function fills<P extends FieldPath>(
  path: P,
  variable: Omit<Variable<ValueAt<Config, P>>, 'field'>,
): Variable<ValueAt<Config, P>> & { field: P } {
  return { ...variable, field: path };
}

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
  GLIMPSE_API_KEYS: fills('apiKeys', { section: 'server', default: 'unset (open)', doc: 'comma-separated bearer keys', parse: apiKeys }),
  GLIMPSE_BACKEND: fills('backend', {
    section: 'ml',
    default: 'best available',
    doc: `TensorFlow.js backend: ${BACKEND_NAMES.join(', ')}`,
    parse: oneOf(BACKEND_NAMES),
  }),
  GLIMPSE_MAX_IMAGE_BYTES: fills('maxImageBytes', {
    section: 'limits',
    default: '`10485760` (10 MiB)',
    doc: 'largest image requestCaption accepts',
    parse: integer(10 * MiB, 1024, 100 * MiB),
  }),
  GLIMPSE_WASM_THREADS: fills('wasmThreads', {
    section: 'ml',
    default: '`1`',
    doc: 'XNNPACK threads of the wasm backend',
    parse: integer(1, 1, 8),
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
    default: '1',
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
  GLIMPSE_CAPTION_BATCH_SIZE: fills('captionBatchSize', {
    section: 'worker',
    default: '`16`',
    doc: 'caption requests a worker decodes together per model',
    parse: integer(16, 1, 256),
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
  GLIMPSE_BACKBONE_MAX_BYTES: fills('backboneDownloads.maxBytes', {
    section: 'limits',
    default: '`536870912` (512 MiB)',
    doc: 'most bytes one backbone load downloads or reads',
    parse: integer(512 * MiB, 1024, 64 * GiB),
  }),
  GLIMPSE_BACKBONE_TIMEOUT_SECONDS: fills('backboneDownloads.timeoutSeconds', {
    section: 'limits',
    default: '`30`',
    doc: 'longest silence while a backbone download connects or reads',
    parse: integer(30, 1, 3600),
  }),
  GLIMPSE_KEEP_CAPTION_IMAGES: fills('keepCaptionImages', {
    section: 'storage',
    default: '`false`',
    doc: "keep a caption request's image after the caption ends",
    parse: boolean(false),
  }),
  GLIMPSE_MAX_SYNTHETIC_IMAGES: fills('maxSyntheticImages', {
    section: 'limits',
    default: '`20000`',
    doc: 'largest synthetic set createDataset accepts',
    parse: integer(20_000, 1, 1_000_000),
  }),
  GLIMPSE_MAX_DATASET_UPLOAD_BYTES: fills('maxDatasetUploadBytes', {
    section: 'limits',
    default: '`200MiB`',
    doc: 'largest zip createDataset(archive) accepts',
    parse: byteSize(200 * MiB, 1024, 16 * GiB),
  }),
  // the decode budget of an uploaded zip's images (src/sources/archive-images.ts). Defaults: a 24-megapixel 8-bit
  // RGB photo decodes to 72 MB (under 128 MiB); a 200 MiB zip of COCO-sized JPEGs (~160 KB, 640×480) holds ~1,300
  // of them, 1.2 GB decoded (under 2 GiB); one core decodes ~40–60 MB/s on a loaded machine, so 2 GiB takes under a
  // minute (120 s leaves room for waiting behind another upload).
  GLIMPSE_MAX_DECODED_IMAGE_BYTES: fills('datasetChecks.maxImageDecodedBytes', {
    section: 'limits',
    default: '`128MiB`',
    doc: 'bytes one image of an uploaded zip may decode to: width × height × channels × bytes per sample, from its header',
    parse: byteSize(128 * MiB, 1024, 2 ** 40),
  }),
  GLIMPSE_MAX_DATASET_DECODED_BYTES: fills('datasetChecks.maxDecodedBytes', {
    section: 'limits',
    default: '`2GiB`',
    doc: 'the same summed over all captioned images of one uploaded zip',
    parse: byteSize(2 * GiB, 1024, 2 ** 50),
  }),
  GLIMPSE_DATASET_CHECK_SECONDS: fills('datasetChecks.seconds', {
    section: 'limits',
    default: '`120`',
    doc: "longest one uploaded zip's unpack and image checks may take, waiting for a check thread included",
    parse: integer(120, 1, 86_400),
  }),
  GLIMPSE_DATASET_CHECK_THREADS: fills('datasetChecks.threads', {
    section: 'limits',
    default: '`1`',
    doc: 'API worker threads decoding uploaded images, one image each, shared by all uploads',
    parse: integer(1, 1, 64),
  }),
  GLIMPSE_PUBLIC_READ: fills('publicRead', {
    section: 'server',
    default: '`false`',
    doc: 'with keys set, queries and subscriptions stay open to callers without one',
    parse: boolean(false),
  }),
  GLIMPSE_MAX_QUERY_LENGTH: fills('queryLimits.maxLength', {
    section: 'limits',
    default: '`32768`',
    doc: 'characters of a GraphQL query',
    parse: integer(32_768, 1024, 10_000_000),
  }),
  GLIMPSE_MAX_QUERY_TOKENS: fills('queryLimits.maxTokens', {
    section: 'limits',
    default: '`2000`',
    doc: 'lexical tokens of a GraphQL query',
    parse: integer(2000, 100, 1_000_000),
  }),
  GLIMPSE_MAX_QUERY_DEPTH: fills('queryLimits.maxDepth', {
    section: 'limits',
    default: '`10`',
    doc: 'nesting of selections',
    parse: integer(10, 3, 1000),
  }),
  GLIMPSE_MAX_QUERY_ALIASES: fills('queryLimits.maxAliases', {
    section: 'limits',
    default: '`15`',
    doc: 'aliases per operation',
    parse: integer(15, 1, 100_000),
  }),
  GLIMPSE_MAX_QUERY_DIRECTIVES: fills('queryLimits.maxDirectives', {
    section: 'limits',
    default: '`50`',
    doc: 'directives per operation',
    parse: integer(50, 1, 100_000),
  }),
  GLIMPSE_MAX_QUERY_COST: fills('queryLimits.maxCost', {
    section: 'limits',
    default: '`50000`',
    doc: 'estimated rows per operation',
    parse: integer(50_000, 100, 1_000_000_000),
  }),
  GLIMPSE_MUTATIONS_PER_MINUTE: fills('mutationsPerMinute', {
    section: 'limits',
    default: '`120`',
    doc: 'mutations per client per minute; 0 = unlimited',
    parse: integer(120, 0, 1_000_000),
  }),
  // a browser tab holds one WebSocket (the dashboard and the IDE multiplex on it) and one or two subscriptions;
  // 100 × 20 is 2,000 streams per address at most, each re-reading the database at least every 5 s
  GLIMPSE_WS_CONNECTIONS_PER_ADDRESS: fills('webSocketLimits.connectionsPerAddress', {
    section: 'limits',
    default: '`100`',
    doc: 'open WebSockets per client IP address; 0 = unlimited',
    parse: integer(100, 0, 1_000_000),
  }),
  GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION: fills('webSocketLimits.subscriptionsPerConnection', {
    section: 'limits',
    default: '`20`',
    doc: 'operations running at once on one WebSocket; 0 = unlimited',
    parse: integer(20, 0, 1_000_000),
  }),
  GLIMPSE_MAX_IMAGE_PIXELS: fills('maxImagePixels', {
    section: 'limits',
    default: '`40000000`',
    doc: 'largest caption image in pixels',
    parse: integer(40_000_000, 1024, 1_000_000_000),
  }),
  GLIMPSE_WORKER_MAX_MEMORY: fills('workerMaxMemory', {
    section: 'worker',
    default: 'half the RAM, at most 3.5 GiB',
    doc: 'memory a training run may need; larger runs are refused',
    parse: byteSize(defaultWorkerMemory, 64 * MiB, 2 ** 50),
  }),
  GLIMPSE_CACHE_MAX_BYTES: fills('cacheMaxBytes', {
    section: 'storage',
    default: '`5GiB`',
    doc: "bound of a worker's artifact cache",
    parse: byteSize(5 * GiB, 0, 2 ** 50),
  }),
  GLIMPSE_WORKER_JOBS: fills('workerJobs', {
    section: 'worker',
    default: '`training,caption,dataset`',
    doc: 'the queues a worker takes jobs from',
    parse: workerJobs,
  }),
  GLIMPSE_CAPTION_WORKER: fills('captionWorker', {
    section: 'worker',
    default: '`true`',
    doc: '`npm start` runs a second worker process for captions only',
    parse: boolean(true),
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
} satisfies Record<string, Variable<unknown>>;

export type VariableName = keyof typeof VARIABLES;
/** the parsed type of a variable */
export type VariableValue<N extends VariableName> = (typeof VARIABLES)[N] extends Variable<infer T> ? T : never;

type FilledPath = { [N in VariableName]: (typeof VARIABLES)[N] extends { field: infer P } ? P : never }[VariableName];
/** every Config value but the paths under dataDir comes from a variable: the compiler names a missing one here */
type Unfilled = Exclude<FieldPath, FilledPath | `paths.${string}`>;
true satisfies [Unfilled] extends [never] ? true : { unfilled: Unfilled };
