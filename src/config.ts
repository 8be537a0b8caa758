// Configuration from the environment, parsed once into a typed, frozen object.
// Unknown GLIMPSE_* variables and malformed values throw a ConfigError naming the variable.
import { isAbsolute, join, resolve } from 'node:path';

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
}

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
  /** GLIMPSE_WORKER_CONCURRENCY: caption jobs a worker runs at once, default 1 */
  workerConcurrency: number;
  /** GLIMPSE_LOG_LEVEL, default info */
  logLevel: LogLevel;
  /** GLIMPSE_PG_PORT: preferred port of the embedded Postgres, default 5433 (a free one if taken) */
  embeddedPgPort: number;
  /** GLIMPSE_COCO_BASE_URL: mirror for `glimpse dataset coco --download`; unset → images.cocodataset.org */
  cocoBaseUrl?: string;
  /** GLIMPSE_HEARTBEAT_SECONDS: worker heartbeat period; a run is reclaimed after 3 missed beats or its longer stated lease. Default 2 */
  heartbeatSeconds: number;
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
  /** GLIMPSE_DB_GRACE_SECONDS: how long the API waits for a lost database (answering 503) before it exits non-zero (69); 0 = forever. Default 300 */
  dbGraceSeconds: number;
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

const KNOWN_GLIMPSE = new Set([
  'GLIMPSE_DATA_DIR',
  'GLIMPSE_API_KEYS',
  'GLIMPSE_BACKEND',
  'GLIMPSE_MAX_IMAGE_BYTES',
  'GLIMPSE_WASM_THREADS',
  'GLIMPSE_WORKER_CONCURRENCY',
  'GLIMPSE_LOG_LEVEL',
  'GLIMPSE_PG_PORT',
  'GLIMPSE_HEARTBEAT_SECONDS',
  'GLIMPSE_COCO_BASE_URL',
  'GLIMPSE_PUBLIC_READ',
  'GLIMPSE_MAX_QUERY_LENGTH',
  'GLIMPSE_MAX_QUERY_TOKENS',
  'GLIMPSE_MAX_QUERY_DEPTH',
  'GLIMPSE_MAX_QUERY_ALIASES',
  'GLIMPSE_MAX_QUERY_DIRECTIVES',
  'GLIMPSE_MAX_QUERY_COST',
  'GLIMPSE_MUTATIONS_PER_MINUTE',
  'GLIMPSE_MAX_IMAGE_PIXELS',
  'GLIMPSE_DB_GRACE_SECONDS',
  // not configuration of the service, but read elsewhere: accepted so they may sit in the environment
  'GLIMPSE_DEBUG', // the CLI prints stack traces
  'GLIMPSE_TORCH_PYTHON', // the bench's PyTorch interpreter
  'GLIMPSE_TEST_WASM_FAULT', // tests only: a file whose presence makes the next training job hit a wasm trap (src/jobs/ml-runtime.ts)
  'GLIMPSE_NATIVE_GEMM', // on|off: wasm's matrix products on the native OpenBLAS addon when built (src/ml/backend.ts checks it)
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
    }),
    apiKeys: Object.freeze(apiKeys(env)),
    backend: oneOf(env, 'GLIMPSE_BACKEND', BACKENDS),
    maxImageBytes: integer(env, 'GLIMPSE_MAX_IMAGE_BYTES', 10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    wasmThreads: integer(env, 'GLIMPSE_WASM_THREADS', 1, 1, 8),
    workerConcurrency: integer(env, 'GLIMPSE_WORKER_CONCURRENCY', 1, 1, 64),
    logLevel: oneOf(env, 'GLIMPSE_LOG_LEVEL', LOG_LEVELS) ?? 'info',
    embeddedPgPort: integer(env, 'GLIMPSE_PG_PORT', 5433, 1, 65535),
    heartbeatSeconds: integer(env, 'GLIMPSE_HEARTBEAT_SECONDS', 2, 1, 300),
    dbGraceSeconds: integer(env, 'GLIMPSE_DB_GRACE_SECONDS', 300, 0, 86_400),
    cocoBaseUrl: httpUrl(env, 'GLIMPSE_COCO_BASE_URL'),
    host: listenHost(env),
    publicRead: boolean(env, 'GLIMPSE_PUBLIC_READ', false),
    queryLimits: queryLimits(env),
    mutationsPerMinute: integer(env, 'GLIMPSE_MUTATIONS_PER_MINUTE', 120, 0, 1_000_000),
    maxImagePixels: integer(env, 'GLIMPSE_MAX_IMAGE_PIXELS', 40_000_000, 1024, 1_000_000_000),
  };
  if (config.cocoBaseUrl === undefined) delete config.cocoBaseUrl;
  if (config.databaseUrl === undefined) delete config.databaseUrl;
  if (config.backend === undefined) delete config.backend;
  return Object.freeze(config);
}
