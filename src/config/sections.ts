// The structured variables: GraphQL query limits, dataset roots, the decode budget of uploaded sets, the
// backbone allow-list and download limits, the worker's memory budget and roles.
import { isIP } from 'node:net';
import { totalmem } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import {
  DEFAULT_BACKBONE_HOSTS,
  WORKER_JOBS,
  type BackboneDownloads,
  type DatasetChecks,
  type QueryLimits,
  type WorkerJob,
} from '../config.ts';
import { byteSize, ConfigError, integer, read, type Env } from './parse.ts';

export function queryLimits(env: Env): QueryLimits {
  return Object.freeze({
    maxLength: integer(env, 'GLIMPSE_MAX_QUERY_LENGTH', 32_768, 1024, 10_000_000),
    maxTokens: integer(env, 'GLIMPSE_MAX_QUERY_TOKENS', 2000, 100, 1_000_000),
    maxDepth: integer(env, 'GLIMPSE_MAX_QUERY_DEPTH', 10, 3, 1000),
    maxAliases: integer(env, 'GLIMPSE_MAX_QUERY_ALIASES', 15, 1, 100_000),
    maxDirectives: integer(env, 'GLIMPSE_MAX_QUERY_DIRECTIVES', 50, 1, 100_000),
    maxCost: integer(env, 'GLIMPSE_MAX_QUERY_COST', 50_000, 100, 1_000_000_000),
  });
}

/**
 * The decode budget of an uploaded zip's images. Defaults: a 24-megapixel 8-bit RGB photo decodes to 72 MB (under
 * 128 MiB per image); a 200 MiB zip of COCO-sized JPEGs (~160 KB, 640×480) holds ~1,300 of them, 1.2 GB decoded
 * (under 2 GiB); one core decodes ~40–60 MB/s through sharp's stats() on a loaded machine, so 2 GiB takes under a
 * minute (120 s leaves room for waiting behind another upload).
 */
export function datasetChecks(env: Env): DatasetChecks {
  return Object.freeze({
    maxImageDecodedBytes: byteSize(env, 'GLIMPSE_MAX_DECODED_IMAGE_BYTES', 128 * 2 ** 20, 1024, 2 ** 40),
    maxDecodedBytes: byteSize(env, 'GLIMPSE_MAX_DATASET_DECODED_BYTES', 2 * 2 ** 30, 1024, 2 ** 50),
    seconds: integer(env, 'GLIMPSE_DATASET_CHECK_SECONDS', 120, 1, 86_400),
    threads: integer(env, 'GLIMPSE_DATASET_CHECK_THREADS', 1, 1, 64),
  });
}

/** GLIMPSE_DATASET_ROOTS: comma-separated absolute folders */
export function datasetRoots(env: Env, fallback: string): readonly string[] {
  const raw = read(env, 'GLIMPSE_DATASET_ROOTS');
  if (raw === undefined) return Object.freeze([fallback]);
  const roots = raw.split(',').map((r) => r.trim());
  if (roots.some((r) => r === '')) throw new ConfigError('GLIMPSE_DATASET_ROOTS', 'empty folder in the comma-separated list');
  const relative = roots.find((r) => !isAbsolute(r));
  if (relative !== undefined) throw new ConfigError('GLIMPSE_DATASET_ROOTS', `expected absolute folders, got "${relative}"`);
  return Object.freeze(roots.map((r) => resolve(r)));
}

/** GLIMPSE_BACKBONE_HOSTS: comma-separated `host` or `host:port`, stored as URL.host normalises them */
export function backboneHosts(env: Env): readonly string[] {
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
export function privateRanges(env: Env): readonly string[] {
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

export function backboneDownloads(env: Env): BackboneDownloads {
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
export function defaultWorkerMemory(): number {
  return Math.min(Math.floor(totalmem() / 2), WASM_HEAP_BUDGET);
}

/** GLIMPSE_WORKER_JOBS: a comma-separated subset of WORKER_JOBS, default all */
export function workerJobs(env: Env): readonly WorkerJob[] {
  const raw = read(env, 'GLIMPSE_WORKER_JOBS');
  if (raw === undefined) return Object.freeze([...WORKER_JOBS]);
  const names = raw
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !(WORKER_JOBS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new ConfigError('GLIMPSE_WORKER_JOBS', `expected a comma-separated list of ${WORKER_JOBS.join(', ')}, got "${raw}"`);
  }
  return Object.freeze(WORKER_JOBS.filter((j) => names.includes(j)));
}
