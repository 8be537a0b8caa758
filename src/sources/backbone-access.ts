// The worker's way to read one backbone (src/ml's BackboneAccess, built from the configuration):
// URLs through the guarded fetch (allow-list, public addresses, redirects re-checked, timeouts, one
// byte budget for model.json and every shard), server paths only under the dataset roots.
import type { Config } from '../config/index.ts';
import { createGuardedFetch, type GuardedFetch } from './guarded-fetch.ts';
import { readFileUnderRoots } from './roots.ts';

export interface GuardedBackboneAccess {
  fetch: GuardedFetch;
  readFile: (file: string) => Promise<Uint8Array>;
}

/** A fresh access per backbone load: its byte budget (GLIMPSE_BACKBONE_MAX_BYTES) covers that load's files. */
export function backboneAccess(config: Pick<Config, 'backboneDownloads' | 'datasetRoots'>): GuardedBackboneAccess {
  const { hosts, allowPrivate, maxBytes, timeoutSeconds } = config.backboneDownloads;
  let readBytes = 0;
  return {
    fetch: createGuardedFetch({ hosts, allowPrivate, maxBytes, timeoutMs: timeoutSeconds * 1000 }),
    async readFile(file) {
      const bytes = await readFileUnderRoots(file, config.datasetRoots, maxBytes - readBytes);
      readBytes += bytes.length;
      return bytes;
    },
  };
}
