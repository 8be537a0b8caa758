// Configuration from the environment, parsed once into a typed, frozen object, from the variable table
// (./variables.ts). Unknown GLIMPSE_* variables and malformed values throw a ConfigError naming the
// variable. This package is the only code that reads process.env (test/config/env-access.test.ts).
import { join } from 'node:path';
import { ConfigError, type Env, read } from './parse.ts';
import type { Config, DataPaths, LogLevel } from './types.ts';
import { VARIABLES, type Variable, type VariableName, type VariableValue } from './variables.ts';

export { childEnvironment, type NativeEnvironment, prepareNativeEnvironment } from './environment.ts';
export { ConfigError, type Env } from './parse.ts';
export type {
  Backend,
  BackboneDownloads,
  Config,
  DataPaths,
  DatasetChecks,
  LogLevel,
  QueryLimits,
  WebSocketLimits,
  WorkerJob,
} from './types.ts';
export { LOG_LEVELS } from './types.ts';
export { DEFAULT_BACKBONE_HOSTS, MAX_BEARER_TOKEN } from './values.ts';
export { type Section, VARIABLES, type Variable, type VariableName, type VariableValue } from './variables.ts';

const ENTRIES = Object.entries(VARIABLES) as [VariableName, Variable][];

/** every name of the table, aliases and former names included */
const namesOf = (name: string, v: Variable) => [name, ...(v.aliases ?? []), ...(v.deprecated ?? [])];

/** the GLIMPSE_* names the config accepts; any other one stops start-up (a typo must not pass unnoticed) */
export const KNOWN_GLIMPSE: ReadonlySet<string> = new Set(
  ENTRIES.flatMap(([name, v]) => namesOf(name, v)).filter((n) => n.startsWith('GLIMPSE_')),
);

/** one variable's value: the first of its names that is set and gives a value (empty counts as unset), else its default */
function parseOne(name: string, v: Variable, env: Env): unknown {
  for (const n of namesOf(name, v)) {
    const raw = read(env, n);
    if (raw === undefined) continue;
    const value = v.parse(raw, n, env);
    if (value !== undefined) return value;
  }
  return v.parse(undefined, name, env);
}

/** one variable parsed on its own, for code that needs it before (or without) the whole config */
export function readVariable<N extends VariableName>(name: N, env: Env = process.env): VariableValue<N> {
  return parseOne(name, VARIABLES[name], env) as VariableValue<N>;
}

/**
 * GLIMPSE_LOG_LEVEL for the logger, which exists before the config is loaded: a malformed value gives
 * info here, and loadConfig reports it.
 */
export function logLevelFromEnv(env: Env = process.env): LogLevel {
  try {
    return readVariable('GLIMPSE_LOG_LEVEL', env);
  } catch {
    return 'info';
  }
}

/** lines for the start-up log: former names of variables that are still set */
export function configWarnings(env: Env = process.env): string[] {
  return ENTRIES.flatMap(([name, v]) =>
    (v.deprecated ?? [])
      .filter((old) => read(env, old) !== undefined)
      .map((old) => `${old} is deprecated (read for one more release): use ${name}`),
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function dataPaths(dir: string): DataPaths {
  return {
    postgres: join(dir, 'postgres'),
    datasets: join(dir, 'datasets'),
    checkpoints: join(dir, 'checkpoints'),
    models: join(dir, 'models'),
    cache: join(dir, 'cache'),
    tmp: join(dir, 'tmp'),
  };
}

export function loadConfig(env: Env = process.env): Config {
  for (const name of Object.keys(env)) {
    if (name.startsWith('GLIMPSE_') && !KNOWN_GLIMPSE.has(name)) {
      throw new ConfigError(name, `unknown variable (known: ${[...KNOWN_GLIMPSE].join(', ')})`);
    }
  }
  const config: Record<string, unknown> = {};
  for (const [name, v] of ENTRIES) {
    if (v.field === undefined) continue; // read by the code it concerns (readVariable)
    const value = parseOne(name, v, env);
    if (value === undefined) continue; // an unset optional value is absent, not undefined
    const path = v.field.split('.');
    let target = config;
    for (const key of path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[path.at(-1)!] = value;
  }
  config.paths = dataPaths(config.dataDir as string);
  return deepFreeze(config as unknown as Config);
}
