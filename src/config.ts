// Configuration from the environment, parsed once into a typed, frozen object.
// Unknown GLIMPSE_* variables and malformed values throw a ConfigError naming the variable.
import { isIP } from 'node:net';
import { totalmem } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';

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

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

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
  'GLIMPSE_NATIVE_GEMM', // on|off: wasm's matrix products on the native OpenBLAS addon when built (src/ml/backend.ts checks it)
  'GLIMPSE_TEST_WASM_FAULT', // tests only: a file whose presence makes the next training job hit a wasm trap (src/jobs/ml-runtime.ts)
]);

/** value of a variable, treating empty / whitespace-only as unset */
function read(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[]): T | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function databaseUrl(env: Env): string | undefined {
  const raw = read(env, 'DATABASE_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'not a valid URL');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new ConfigError('DATABASE_URL', `expected a postgresql:// URL, got ${url.protocol}//…`);
  }
  return raw;
}

function httpUrl(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `expected an http(s):// URL, got ${url.protocol}//…`);
  return raw;
}

function apiKeys(env: Env): string[] {
  const raw = read(env, 'GLIMPSE_API_KEYS');
  if (raw === undefined) return [];
  const keys = raw.split(',').map((k) => k.trim());
  if (keys.some((k) => k === '')) throw new ConfigError('GLIMPSE_API_KEYS', 'empty key in the comma-separated list');
  if (keys.some((k) => /\s/.test(k))) throw new ConfigError('GLIMPSE_API_KEYS', 'keys must not contain whitespace');
  return keys;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

/** HOST: an IPv4/IPv6 address or a host name, no scheme or port */
function listenHost(env: Env): string {
  const raw = read(env, 'HOST');
  if (raw === undefined) return '127.0.0.1';
  if (!/^[\w.:-]+$/.test(raw) || raw.length > 253) throw new ConfigError('HOST', `expected an address such as 127.0.0.1 or 0.0.0.0, got "${raw}"`);
  return raw;
}

function queryLimits(env: Env): QueryLimits {
  return Object.freeze({
    maxLength: integer(env, 'GLIMPSE_MAX_QUERY_LENGTH', 32_768, 1024, 10_000_000),
    maxTokens: integer(env, 'GLIMPSE_MAX_QUERY_TOKENS', 2000, 100, 1_000_000),
    maxDepth: integer(env, 'GLIMPSE_MAX_QUERY_DEPTH', 10, 3, 1000),
    maxAliases: integer(env, 'GLIMPSE_MAX_QUERY_ALIASES', 15, 1, 100_000),
    maxDirectives: integer(env, 'GLIMPSE_MAX_QUERY_DIRECTIVES', 50, 1, 100_000),
    maxCost: integer(env, 'GLIMPSE_MAX_QUERY_COST', 50_000, 100, 1_000_000_000),
  });
}

/** GLIMPSE_DATASET_ROOTS: comma-separated absolute folders */
function datasetRoots(env: Env, fallback: string): readonly string[] {
  const raw = read(env, 'GLIMPSE_DATASET_ROOTS');
  if (raw === undefined) return Object.freeze([fallback]);
  const roots = raw.split(',').map((r) => r.trim());
  if (roots.some((r) => r === '')) throw new ConfigError('GLIMPSE_DATASET_ROOTS', 'empty folder in the comma-separated list');
  const relative = roots.find((r) => !isAbsolute(r));
  if (relative !== undefined) throw new ConfigError('GLIMPSE_DATASET_ROOTS', `expected absolute folders, got "${relative}"`);
  return Object.freeze(roots.map((r) => resolve(r)));
}

/** GLIMPSE_BACKBONE_HOSTS: comma-separated `host` or `host:port`, stored as URL.host normalises them */
function backboneHosts(env: Env): readonly string[] {
  const raw = read(env, 'GLIMPSE_BACKBONE_HOSTS');
  if (raw === undefined) return Object.freeze([...DEFAULT_BACKBONE_HOSTS]);
  return Object.freeze(
    raw.split(',').map((entry) => {
      const text = entry.trim();
      let host = '';
      if (text !== '' && !/[/?#@\\\s]/.test(text)) {
        try {
          host = new URL(`http://${text}/`).host;
        } catch {
          // refused below
        }
      }
      if (!host) throw new ConfigError('GLIMPSE_BACKBONE_HOSTS', `expected host or host:port entries, got "${text}"`);
      return host;
    }),
  );
}

/** GLIMPSE_BACKBONE_ALLOW_PRIVATE: false (default), true, or comma-separated addresses / CIDR ranges */
function privateRanges(env: Env): readonly string[] {
  const name = 'GLIMPSE_BACKBONE_ALLOW_PRIVATE';
  const raw = read(env, name);
  if (raw === undefined || raw.toLowerCase() === 'false' || raw === '0') return Object.freeze([]);
  if (raw.toLowerCase() === 'true' || raw === '1') return Object.freeze(['0.0.0.0/0', '::/0']);
  return Object.freeze(
    raw.split(',').map((entry) => {
      const text = entry.trim();
      if (ipaddr.isValidCIDR(text)) return text;
      if (ipaddr.isValid(text) && isIP(text)) return `${text}/${isIP(text) === 4 ? 32 : 128}`;
      throw new ConfigError(name, `expected true, false or addresses / CIDR ranges (127.0.0.1, 10.0.0.0/8), got "${text}"`);
    }),
  );
}

function backboneDownloads(env: Env): BackboneDownloads {
  return Object.freeze({
    hosts: backboneHosts(env),
    allowPrivate: privateRanges(env),
    maxBytes: integer(env, 'GLIMPSE_BACKBONE_MAX_BYTES', 512 * 1024 * 1024, 1024, 64 * 1024 ** 3),
    timeoutSeconds: integer(env, 'GLIMPSE_BACKBONE_TIMEOUT_SECONDS', 30, 1, 3600),
  });
}

/** the wasm backend's heap cannot pass 4 GiB (32-bit addresses): leave room for the runtime */
const WASM_HEAP_BUDGET = 3.5 * 2 ** 30;

/** half the machine's memory, at most what a wasm worker can address */
function defaultWorkerMemory(): number {
  return Math.min(Math.floor(totalmem() / 2), WASM_HEAP_BUDGET);
}

/** bytes, or a number with a unit: 512MiB, 3GiB, 2GB (binary units either way) */
function byteSize(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$/i.exec(raw);
  if (!match) throw new ConfigError(name, `expected bytes or a size like 3GiB, got "${raw}"`);
  const power = { b: 0, kb: 1, kib: 1, mb: 2, mib: 2, gb: 3, gib: 3, tb: 4, tib: 4 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  const value = Math.floor(Number(match[1]) * 1024 ** power);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max} bytes, got ${value}`);
  return value;
}

/** GLIMPSE_WORKER_JOBS: a comma-separated subset of WORKER_JOBS, default all */
function workerJobs(env: Env): readonly WorkerJob[] {
  const raw = read(env, 'GLIMPSE_WORKER_JOBS');
  if (raw === undefined) return Object.freeze([...WORKER_JOBS]);
  const names = raw.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names.filter((n) => !(WORKER_JOBS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new ConfigError('GLIMPSE_WORKER_JOBS', `expected a comma-separated list of ${WORKER_JOBS.join(', ')}, got "${raw}"`);
  }
  return Object.freeze(WORKER_JOBS.filter((j) => names.includes(j)));
}

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
