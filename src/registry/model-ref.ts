// THE model reference grammar (issue 22), the one place that says what a client may write where a model is
// expected — requestCaption's `model`, and later evaluation, warm start (`initFrom`) and bulk captions:
//   "captioner@production"   the version the alias `production` of the name `captioner` points at now
//   "captioner:3"            version 3 of `captioner`
//   "3f0c…-…"                a model id (a UUID)
// A name may itself hold `@` or `:` (renameModel allows any printable text): a reference is split at its LAST
// `@` or `:`, so "a:b@prod" is alias `prod` of the name "a:b". Pure: no database, no ML (src/registry/resolve.ts
// looks a reference up).

/** an alias name: a lower-case letter, then up to 31 of a–z, 0–9, `_`, `-` */
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
/** the most aliases one name may have (setModelAlias refuses another with CONFLICT) */
export const MAX_ALIASES_PER_NAME = 20;
/** the longest model name (renameModel, startTraining's modelName, `glimpse model import --name`) */
export const MAX_MODEL_NAME = 100;
/** the longest reference: a name, a separator and an alias */
export const MAX_MODEL_REF = MAX_MODEL_NAME + 1 + 32;
/** the largest version a reference may name (Postgres integer) */
export const MAX_VERSION = 2_147_483_647;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VERSION = /^[1-9][0-9]{0,9}$/;

export type ModelRef =
  | { kind: 'id'; id: string }
  | { kind: 'version'; name: string; version: number }
  | { kind: 'alias'; name: string; alias: string };

/** A reference that does not follow the grammar; `message` says what was expected. */
export class ModelRefSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelRefSyntaxError';
  }
}

const EXPECTED = 'expected "name@alias", "name:version" or a model id';

/** The reference parsed; ModelRefSyntaxError when it is none of the three forms. */
export function parseModelRef(text: string): ModelRef {
  const ref = text.trim();
  if (ref === '') throw new ModelRefSyntaxError(`must not be empty: ${EXPECTED}`);
  if ([...ref].length > MAX_MODEL_REF) throw new ModelRefSyntaxError(`must be at most ${MAX_MODEL_REF} characters`);
  // no model name holds NUL (Postgres text cannot), and the lookup must not send one
  if (ref.includes('\u0000')) throw new ModelRefSyntaxError('must not contain a NUL character');
  if (UUID.test(ref)) return { kind: 'id', id: ref.toLowerCase() };
  const at = Math.max(ref.lastIndexOf('@'), ref.lastIndexOf(':'));
  if (at <= 0) throw new ModelRefSyntaxError(EXPECTED);
  const name = ref.slice(0, at).trim();
  const tail = ref.slice(at + 1);
  if (name === '') throw new ModelRefSyntaxError(`the name before "${ref[at]}" is empty: ${EXPECTED}`);
  if (ref[at] === '@') {
    const problem = aliasProblem(tail);
    if (problem) throw new ModelRefSyntaxError(`the alias ${problem}`);
    return { kind: 'alias', name, alias: tail };
  }
  if (!VERSION.test(tail) || Number(tail) > MAX_VERSION)
    throw new ModelRefSyntaxError(`the version after ":" must be a whole number from 1 to ${MAX_VERSION}`);
  return { kind: 'version', name, version: Number(tail) };
}

/** Why `alias` is not an alias name (null: it is one). */
export function aliasProblem(alias: string): string | null {
  return ALIAS_PATTERN.test(alias) ? null : 'must be a lower-case letter followed by at most 31 lower-case letters, digits, "_" or "-"';
}

/** The name trimmed, or why it cannot be a model name (1 to MAX_MODEL_NAME printable characters). */
export function checkedModelName(name: string): { name: string } | { problem: string } {
  const trimmed = name.trim();
  if (trimmed.length === 0) return { problem: 'must not be empty' };
  if ([...trimmed].length > MAX_MODEL_NAME) return { problem: `must be at most ${MAX_MODEL_NAME} characters` };
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(trimmed)) return { problem: 'must not contain control characters or line breaks' };
  return { name: trimmed };
}

/** The reference of a version, the way the grammar writes it. */
export function formatModelRef(name: string, versionOrAlias: number | string): string {
  return `${name}${typeof versionOrAlias === 'number' ? ':' : '@'}${versionOrAlias}`;
}
