// No client string may hold a NUL byte (U+0000): Postgres text and jsonb cannot store one, so a NUL in an id, a
// name or a filter reached the database as "invalid byte sequence" and came back a masked INTERNAL_SERVER_ERROR.
// Checked once per operation, for HTTP and graphql-ws alike (./guard.ts): every string in the variables
// (plain objects and arrays; uploads are not strings) and every string literal in the document.
import { type DocumentNode, visit } from 'graphql';
import { BadUserInputError } from '../resolvers/shared/api-errors.ts';

const NUL = '\u0000';

/** the path of the first string under `value` that holds NUL (`at` its own path), or undefined */
function nulPath(value: unknown, at: string): string | undefined {
  if (typeof value === 'string') return value.includes(NUL) ? at : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${at}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined; // an upload, not client text
  for (const [key, item] of Object.entries(value)) {
    const found = nulPath(item, `${at}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/** BAD_USER_INPUT naming the first variable (`$name.path`) or literal that holds NUL; undefined when none does */
export function nulRefusal(document: DocumentNode, variables: Record<string, unknown> | undefined): BadUserInputError | undefined {
  for (const [name, value] of Object.entries(variables ?? {})) {
    const found = nulPath(value, `$${name}`);
    if (found) return new BadUserInputError(found, 'must not contain a NUL character (U+0000)');
  }
  let literal = false;
  visit(document, {
    StringValue(node) {
      if (node.value.includes(NUL)) literal = true;
    },
  });
  return literal ? new BadUserInputError('document', 'a string must not contain a NUL character (U+0000)') : undefined;
}
