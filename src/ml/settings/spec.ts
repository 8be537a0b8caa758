// The shape of a setting: name, type, bounds, default and description in one record, from which the
// GraphQL input, its validation, the CLI options and --help, the dashboard form and the ML defaults are
// all derived. Pure data and pure functions: no imports, so the API and the browser may use it too.

export interface NumberSetting {
  kind: 'int' | 'float';
  min: number;
  max: number;
  /** the lower bound itself is refused (e.g. learningRate > 1e-6) */
  minExclusive?: boolean;
  /** null: chosen from the data or the rest of the settings (`auto` says how) */
  default: number | null;
  /** what a null default means, e.g. "from the data" */
  auto?: string;
  /** values in [min, max] that are still refused, with the reason (e.g. checkpointEvery 1..9) */
  refuse?: { below: number; except: number; why: string };
  description: string;
}

export interface IntListSetting {
  kind: 'intList';
  /** bounds of each element */
  min: number;
  max: number;
  minLength: number;
  maxLength: number;
  default: number[] | null;
  auto?: string;
  description: string;
}

export interface EnumSetting<T extends string = string> {
  kind: 'enum';
  values: readonly T[];
  default: T;
  description: string;
}

export interface BoolSetting {
  kind: 'bool';
  default: boolean;
  description: string;
}

export type Setting = NumberSetting | IntListSetting | EnumSetting | BoolSetting;

/** A table of settings for a record type V: one Setting per key. */
export type SettingTable<V> = { [K in keyof V]: Setting };

/** A value outside a setting's bounds: `setting` is its name, `message` says why. */
export class SettingError extends Error {
  readonly code = 'INVALID_SETTING';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'SettingError';
  }
}

const fmt = (n: number) => (n !== 0 && Math.abs(n) < 1e-3 ? n.toExponential() : String(n));

/** "1..1000", "> 1e-6 and ≤ 1", "0..0.5" */
export function describeBounds(s: Setting): string {
  if (s.kind === 'enum') return s.values.join(', ');
  if (s.kind === 'bool') return 'true or false';
  if (s.kind === 'intList') return `${s.minLength}..${s.maxLength} values, each ${s.min}..${s.max}`;
  const range = s.minExclusive ? `> ${fmt(s.min)} and ≤ ${fmt(s.max)}` : `${fmt(s.min)}..${fmt(s.max)}`;
  return s.refuse ? `${s.refuse.except} or ${s.refuse.below}..${fmt(s.max)}` : range;
}

/** The default as shown to people: "10", "[16, 32, 64]", or the `auto` text. */
export function describeDefault(s: Setting): string {
  if (s.default === null) return s.auto ?? 'automatic';
  return Array.isArray(s.default) ? s.default.join(',') : String(s.default);
}

/** "GRU and attention units; 8..2048, default 512" */
export function describeSetting(s: Setting): string {
  return `${s.description}; ${describeBounds(s)}, default ${describeDefault(s)}`;
}

function checkNumber(name: string, s: NumberSetting, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SettingError(name, `must be a finite number, got ${String(value)}`);
  if (s.kind === 'int' && !Number.isInteger(value)) throw new SettingError(name, `must be a whole number, got ${value}`);
  const low = s.minExclusive ? value <= s.min : value < s.min;
  if (low || value > s.max) throw new SettingError(name, `must be ${describeBounds(s)}, got ${value}`);
  if (s.refuse && value !== s.refuse.except && value < s.refuse.below) {
    throw new SettingError(name, `must be ${describeBounds(s)} (${s.refuse.why}), got ${value}`);
  }
  return value;
}

/** Validates one given value (never undefined/null: those take the default in `resolveSettings`). */
export function checkSetting(name: string, s: Setting, value: unknown): unknown {
  if (s.kind === 'enum') {
    if (typeof value !== 'string' || !s.values.includes(value)) throw new SettingError(name, `must be one of ${s.values.join(', ')}`);
    return value;
  }
  if (s.kind === 'bool') {
    if (typeof value !== 'boolean') throw new SettingError(name, `must be true or false, got ${String(value)}`);
    return value;
  }
  if (s.kind === 'intList') {
    if (!Array.isArray(value)) throw new SettingError(name, 'must be a list of whole numbers');
    if (value.length < s.minLength || value.length > s.maxLength) {
      throw new SettingError(name, `must have ${s.minLength}..${s.maxLength} values, got ${value.length}`);
    }
    for (const v of value) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < s.min || v > s.max) {
        throw new SettingError(name, `each value must be a whole number ${s.min}..${s.max}, got ${String(v)}`);
      }
    }
    return [...value];
  }
  return checkNumber(name, s, value as number);
}

/**
 * Validates the given values (absent or null → the default) and returns every setting of the table.
 * Unknown keys are refused. `prefix` goes before names in errors ("input.").
 */
export function resolveSettings<V>(table: SettingTable<V>, given: Readonly<Record<string, unknown>>, prefix = ''): V {
  for (const key of Object.keys(given)) {
    if (!(key in table) && given[key] !== undefined) throw new SettingError(prefix + key, 'unknown setting');
  }
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(table) as [string, Setting][]) {
    const value = given[name];
    out[name] =
      value === undefined || value === null
        ? Array.isArray(s.default)
          ? [...s.default]
          : s.default
        : checkSetting(prefix + name, s, value);
  }
  return out as V;
}

/** The defaults of a table (null where chosen later). */
export function defaultsOf<V>(table: SettingTable<V>): V {
  return resolveSettings<V>(table, {});
}

/** "batchSize" → "batch-size" (CLI flags) */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
