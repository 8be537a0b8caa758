// Mutations carry @Authorized(): when API keys are configured, the caller must present one.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthCheckerFn } from 'type-graphql';
import type { ApiContext } from './context.ts';
import { UnauthenticatedError } from './errors.ts';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time membership test (digests have equal length, so timingSafeEqual applies). */
export function isAcceptedKey(presented: string | null, keys: readonly string[]): boolean {
  if (keys.length === 0) return true;
  if (presented === null) return false;
  const candidate = digest(presented);
  return keys.reduce((found, key) => timingSafeEqual(digest(key), candidate) || found, false);
}

export const authChecker: AuthCheckerFn<ApiContext> = ({ context }) => {
  if (!isAcceptedKey(context.apiKey, context.apiKeys)) throw new UnauthenticatedError();
  return true;
};
