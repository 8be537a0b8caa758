// Parsers for commander option values: numbers are validated where they are read, so a typo
// like `--epochs ten` stops with a usage error instead of training with NaN.

import { InvalidArgumentError } from 'commander';
import { checkSetting, SettingError, type Setting } from '../ml/settings/index.ts';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0');
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    }
    return value as T;
  };
}

/** a share in [0, 1) */
export function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number in [0, 1)');
  return n;
}

/** commander parser for a setting of the schema: its own check, as a usage error. */
export function settingOption(name: string, setting: Setting): (raw: string) => unknown {
  return (raw) => {
    const value =
      setting.kind === 'enum'
        ? raw
        : setting.kind === 'bool'
          ? (({ true: true, false: false } as Record<string, boolean>)[raw.trim()] ?? raw)
          : setting.kind === 'intList'
            ? raw.split(',').map((v) => Number(v.trim()))
            : Number(raw);
    try {
      return checkSetting(name, setting, value);
    } catch (error) {
      if (error instanceof SettingError) throw new InvalidArgumentError(error.message.slice(name.length + 2));
      throw error;
    }
  };
}
