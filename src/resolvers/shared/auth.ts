// Who may do what. With GLIMPSE_API_KEYS set: mutations carry @Authorized() and need a key; queries and
// subscriptions need one too unless GLIMPSE_PUBLIC_READ=true (enforced per operation by src/server/guard.ts);
// fields that reveal the server (paths, host names, pids) carry @UseMiddleware(KeyHoldersOnly) and read
// null for callers without a key. Without keys configured the service is open and every caller is a key holder.
import type { AuthCheckerFn, MiddlewareFn } from 'type-graphql';
import { isAcceptedKey } from '../../process/api-keys.ts';
import type { ApiContext } from './api-context.ts';
import { UnauthenticatedError } from './api-errors.ts';

export { isAcceptedKey };

const holders = new WeakMap<object, boolean>();

/** True when the caller presented a configured key, or when no keys are configured (memoised per context). */
export function isKeyHolder(context: Pick<ApiContext, 'apiKey' | 'apiKeys'>): boolean {
  let known = holders.get(context);
  if (known === undefined) holders.set(context, (known = isAcceptedKey(context.apiKey, context.apiKeys)));
  return known;
}

export const authChecker: AuthCheckerFn<ApiContext> = ({ context }) => {
  if (!isKeyHolder(context)) throw new UnauthenticatedError();
  return true;
};

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
