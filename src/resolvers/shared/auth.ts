// Who may do what. Every root field needs one scope (./field-scopes.ts, enforced per operation by
// src/server/guard.ts before anything executes). Fields that reveal the server (paths, host names, pids)
// carry @UseMiddleware(KeyHoldersOnly) and read null for callers without a valid key. Deleting or cancelling
// an object another key created needs `admin` (checkOwner). Without any key configured the service is open:
// every caller has every scope.
import type { MiddlewareFn } from 'type-graphql';
import { hasScope } from '../../keys/scopes.ts';
import type { ApiContext } from './api-context.ts';
import { ForbiddenError } from './api-errors.ts';

/** True when the caller presented a valid key, or when no keys are configured. */
export function isKeyHolder(context: Pick<ApiContext, 'caller'>): boolean {
  return !context.caller.keysRequired || context.caller.keyName !== null;
}

/**
 * FORBIDDEN unless the caller created the object (its `createdByKey`) or has `admin`; an object with no
 * recorded key (made before keys, on an open server, by the CLI) is admin's.
 */
export function checkOwner(context: Pick<ApiContext, 'caller'>, createdByKey: string | null, what: string, action: string): void {
  const { caller } = context;
  if (hasScope(caller, 'admin')) return;
  if (caller.keyName !== null && createdByKey === caller.keyName) return;
  throw new ForbiddenError('admin', `${what} was not created by this key: ${action} it needs the "admin" scope`);
}

/** Field middleware: the field's value for key holders, null for everyone else (the field must be nullable). */
export const KeyHoldersOnly: MiddlewareFn<ApiContext> = async ({ context }, next) => (isKeyHolder(context) ? next() : null);

/** An absolute server path (POSIX or Windows) or a file: URL. */
function isServerPath(value: string): boolean {
  return value.startsWith('/') || /^[a-z]:[\\/]/i.test(value) || value.toLowerCase().startsWith('file:');
}

function redactPaths(value: unknown): unknown {
  if (typeof value === 'string') return isServerPath(value) ? null : value;
  if (Array.isArray(value)) return value.map(redactPaths);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactPaths(v)]));
  }
  return value;
}

/**
 * Field middleware for values that may hold a server path among other things (a backbone given as a path
 * or a URL, a model's config JSON): for callers without a key every absolute path or file: URL in the value
 * reads null; URLs and other values stay.
 */
export const RedactServerPaths: MiddlewareFn<ApiContext> = async ({ context }, next) => {
  const value: unknown = await next();
  return isKeyHolder(context) ? value : redactPaths(value);
};
