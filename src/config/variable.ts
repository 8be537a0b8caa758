// One environment variable's declaration (src/config/variables.ts holds the table) and the helper that
// ties a variable to the Config field it fills.
import type { Config, FieldPath, ValueAt } from './types.ts';
import type { Parser } from './parse.ts';

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

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/** a variable that fills `path`: the compiler checks its parser returns that field's type */
export function fills<P extends FieldPath>(
  path: P,
  variable: Omit<Variable<ValueAt<Config, P>>, 'field'>,
): Variable<ValueAt<Config, P>> & { field: P } {
  return { ...variable, field: path };
}
