// Parsers of the variables with a format of their own: the database URL, API keys, the listen address,
// the data dir and dataset roots, the backbone allow-lists, the worker's memory budget and roles.
import { isIP } from 'node:net';
import { totalmem } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { QUEUE_NAMES, type QueueName } from '../queue/names.ts';
import { commaList, ConfigError, type Parser, read, url } from './parse.ts';

/** a postgresql:// URL, unset → undefined (the embedded Postgres) */
export const databaseUrl = url(['postgresql:', 'postgres:'], 'a postgresql://');

/** the longest bearer token the API looks at (src/server/keyring.ts); managed keys have 47 characters */
export const MAX_BEARER_TOKEN = 1024;

/** comma-separated bearer keys (each at most MAX_BEARER_TOKEN characters), unset → none */
export const apiKeys: Parser<readonly string[]> = (raw, name) => {
  if (raw === undefined) return [];
  const keys = commaList(raw);
  if (keys.some((k) => k === '')) throw new ConfigError(name, 'empty key in the comma-separated list');
  if (keys.some((k) => /\s/.test(k))) throw new ConfigError(name, 'keys must not contain whitespace');
  if (keys.some((k) => k.length > MAX_BEARER_TOKEN)) throw new ConfigError(name, `keys must be at most ${MAX_BEARER_TOKEN} characters`);
  return keys;
};

/** an IPv4/IPv6 address or a host name, no scheme or port */
export const listenHost: Parser<string> = (raw, name) => {
  if (raw === undefined) return '127.0.0.1';
  if (!/^[\w.:-]+$/.test(raw) || raw.length > 253)
    throw new ConfigError(name, `expected an address such as 127.0.0.1 or 0.0.0.0, got "${raw}"`);
  return raw;
};

/** absolute; a relative value is resolved against the working directory, default <cwd>/.glimpse */
export const dataDir: Parser<string> = (raw) => {
  if (raw === undefined) return join(process.cwd(), '.glimpse');
  return isAbsolute(raw) ? raw : resolve(process.cwd(), raw);
};

/** comma-separated absolute folders; default: the data dir */
export const datasetRoots: Parser<readonly string[]> = (raw, name, env) => {
  if (raw === undefined) return [dataDir(read(env, 'GLIMPSE_DATA_DIR'), 'GLIMPSE_DATA_DIR', env)];
  const roots = commaList(raw);
  if (roots.some((r) => r === '')) throw new ConfigError(name, 'empty folder in the comma-separated list');
  const relative = roots.find((r) => !isAbsolute(r));
  if (relative !== undefined) throw new ConfigError(name, `expected absolute folders, got "${relative}"`);
  return roots.map((r) => resolve(r));
};

/** TF.js models on TF Hub / Kaggle: tfhub.dev redirects to www.kaggle.com, which serves from storage.googleapis.com */
export const DEFAULT_BACKBONE_HOSTS = ['storage.googleapis.com', 'tfhub.dev', 'www.kaggle.com'] as const;

/** comma-separated `host` or `host:port`, stored as URL.host normalises them */
export const backboneHosts: Parser<readonly string[]> = (raw, name) => {
  if (raw === undefined) return [...DEFAULT_BACKBONE_HOSTS];
  return commaList(raw).map((text) => {
    let host = '';
    if (text !== '' && !/[/?#@\\\s]/.test(text)) {
      try {
        host = new URL(`http://${text}/`).host;
      } catch {
        // refused below
      }
    }
    if (!host) throw new ConfigError(name, `expected host or host:port entries, got "${text}"`);
    return host;
  });
};

/** false (default), true (every address), or comma-separated addresses / CIDR ranges */
export const privateRanges: Parser<readonly string[]> = (raw, name) => {
  if (raw === undefined || raw.toLowerCase() === 'false' || raw === '0') return [];
  if (raw.toLowerCase() === 'true' || raw === '1') return ['0.0.0.0/0', '::/0'];
  return commaList(raw).map((text) => {
    if (ipaddr.isValidCIDR(text)) return text;
    if (ipaddr.isValid(text) && isIP(text)) return `${text}/${isIP(text) === 4 ? 32 : 128}`;
    throw new ConfigError(name, `expected true, false or addresses / CIDR ranges (127.0.0.1, 10.0.0.0/8), got "${text}"`);
  });
};

/** the wasm backend's heap cannot pass 4 GiB (32-bit addresses): leave room for the runtime */
const WASM_HEAP_BUDGET = 3.5 * 2 ** 30;

/** half the machine's memory, at most what a wasm worker can address */
export function defaultWorkerMemory(): number {
  return Math.min(Math.floor(totalmem() / 2), WASM_HEAP_BUDGET);
}

/**
 * a comma-separated subset of the queues, in QUEUE_NAMES order; default all. A worker that takes training
 * also takes evaluation (the same kind of work on the same hosts), whether `evaluation` is listed or not.
 */
export const workerJobs: Parser<readonly QueueName[]> = (raw, name) => {
  if (raw === undefined) return [...QUEUE_NAMES];
  const names = commaList(raw).filter((n) => n !== '');
  const unknown = names.filter((n) => !(QUEUE_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new ConfigError(name, `expected a comma-separated list of ${QUEUE_NAMES.join(', ')}, got "${raw}"`);
  }
  if (names.includes('training')) names.push('evaluation');
  return QUEUE_NAMES.filter((j) => names.includes(j));
};
