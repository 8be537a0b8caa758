// Parsers of environment variables: each reads one variable, treats empty as unset, and throws a
// ConfigError naming the variable for a malformed or out-of-range value.

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

export type Env = Record<string, string | undefined>;

/** value of a variable, treating empty / whitespace-only as unset */
export function read(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[]): T | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function databaseUrl(env: Env): string | undefined {
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

export function httpUrl(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(name, `expected an http(s):// URL, got ${url.protocol}//…`);
  return raw;
}

export function apiKeys(env: Env): string[] {
  const raw = read(env, 'GLIMPSE_API_KEYS');
  if (raw === undefined) return [];
  const keys = raw.split(',').map((k) => k.trim());
  if (keys.some((k) => k === '')) throw new ConfigError('GLIMPSE_API_KEYS', 'empty key in the comma-separated list');
  if (keys.some((k) => /\s/.test(k))) throw new ConfigError('GLIMPSE_API_KEYS', 'keys must not contain whitespace');
  return keys;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

/** HOST: an IPv4/IPv6 address or a host name, no scheme or port */
export function listenHost(env: Env): string {
  const raw = read(env, 'HOST');
  if (raw === undefined) return '127.0.0.1';
  if (!/^[\w.:-]+$/.test(raw) || raw.length > 253)
    throw new ConfigError('HOST', `expected an address such as 127.0.0.1 or 0.0.0.0, got "${raw}"`);
  return raw;
}

/** bytes, or a number with a unit: 512MiB, 3GiB, 2GB (binary units either way) */
export function byteSize(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$/i.exec(raw);
  if (!match) throw new ConfigError(name, `expected bytes or a size like 3GiB, got "${raw}"`);
  const power = { b: 0, kb: 1, kib: 1, mb: 2, mib: 2, gb: 3, gib: 3, tb: 4, tib: 4 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  const value = Math.floor(Number(match[1]) * 1024 ** power);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max} bytes, got ${value}`);
  return value;
}
