// The API-key check every process uses (the API's GraphQL and /metrics, a standalone worker's /metrics).
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time membership test (digests have equal length, so timingSafeEqual applies); no keys: every caller. */
export function isAcceptedKey(presented: string | null, keys: readonly string[]): boolean {
  if (keys.length === 0) return true;
  if (presented === null) return false;
  const candidate = digest(presented);
  return keys.reduce((found, key) => timingSafeEqual(digest(key), candidate) || found, false);
}
