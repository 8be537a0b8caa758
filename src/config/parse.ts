// The parsers the variable table (./variables.ts) is written with. A parser gets a variable's value
// (already trimmed; undefined when unset or empty), the name it was read under (for the error) and the
// whole environment (for the rare default that depends on another variable), and returns the typed
// value or its default. A malformed or out-of-range value throws a ConfigError naming the variable.

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

export type Parser<T> = (raw: string | undefined, name: string, env: Env) => T;

/** value of a variable, treating empty / whitespace-only as unset */
export function read(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

/** a whole number in [min, max] */
export function integer(fallback: number, min: number, max: number): Parser<number> {
  return (raw, name) => {
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
    return value;
  };
}

/** a whole number in [min, max]; unset → undefined (a default computed elsewhere) */
export function optionalInteger(min: number, max: number): Parser<number | undefined> {
  const parse = integer(0, min, max);
  return (raw, name, env) => (raw === undefined ? undefined : parse(raw, name, env));
}

/** one of `allowed`; unset → `fallback` (undefined without one) */
export function oneOf<T extends string>(allowed: readonly T[]): Parser<T | undefined>;
export function oneOf<T extends string>(allowed: readonly T[], fallback: T): Parser<T>;
export function oneOf<T extends string>(allowed: readonly T[], fallback?: T): Parser<T | undefined> {
  return (raw, name) => {
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  };
}

/** true/1 or false/0, any case */
export function boolean(fallback: boolean): Parser<boolean> {
  return (value, name) => {
    const raw = value?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(name, `expected true or false, got "${raw}"`);
  };
}

/** `on` or `off` (the native kernels' switch, spelled as it always was) */
export function onOff(fallback: boolean): Parser<boolean> {
  return (raw, name) => {
    if (raw === undefined) return fallback;
    if (raw === 'on') return true;
    if (raw === 'off') return false;
    throw new ConfigError(name, `must be "on" or "off" (got "${raw}")`);
  };
}

/** any value turns it on (the CLI's GLIMPSE_DEBUG has always been read so) */
export const presence: Parser<boolean> = (raw) => raw !== undefined;

/** free text, unset → undefined (a path or a name another program checks) */
export const text: Parser<string | undefined> = (raw) => raw;

/**
 * A thread count that other programs read too (OpenBLAS, OpenMP): a positive integer, anything else
 * ignored rather than refused (OpenMP also accepts lists such as "4,2", which are not ours to judge).
 */
export const threadCount: Parser<number | undefined> = (raw) => {
  const n = Number(raw);
  return raw !== undefined && Number.isInteger(n) && n >= 1 ? n : undefined;
};

/** bytes, or a number with a unit: 512MiB, 3GiB, 2GB (binary units either way) */
export function byteSize(fallback: number | (() => number), min: number, max: number): Parser<number> {
  return (raw, name) => {
    if (raw === undefined) return typeof fallback === 'function' ? fallback() : fallback;
    const match = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$/i.exec(raw);
    if (!match) throw new ConfigError(name, `expected bytes or a size like 3GiB, got "${raw}"`);
    const power = { b: 0, kb: 1, kib: 1, mb: 2, mib: 2, gb: 3, gib: 3, tb: 4, tib: 4 }[(match[2] ?? 'b').toLowerCase() as 'b'];
    const value = Math.floor(Number(match[1]) * 1024 ** power);
    if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max} bytes, got ${value}`);
    return value;
  };
}

/** a URL of one of `protocols` (e.g. 'http:'), unset → undefined; `kind` names them in the error ("an http(s)://") */
export function url(protocols: readonly string[], kind: string): Parser<string | undefined> {
  return (raw, name) => {
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, 'not a valid URL');
    }
    if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `expected ${kind} URL, got ${parsed.protocol}//…`);
    return raw;
  };
}

/** comma-separated entries, each trimmed */
export function commaList(raw: string): string[] {
  return raw.split(',').map((entry) => entry.trim());
}
