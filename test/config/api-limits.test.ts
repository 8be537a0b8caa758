// The API's exposure and limit variables: HOST, GLIMPSE_PUBLIC_READ, the GraphQL limits, the mutation rate,
// the image pixel limit and the decode budget of uploaded sets, with their defaults and their validation.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';

describe('API limit configuration', () => {
  it('defaults: loopback, reads closed when keys are set, the documented limits', () => {
    const c = loadConfig({});
    expect(c.host).toBe('127.0.0.1');
    expect(c.publicRead).toBe(false);
    expect(c.queryLimits).toEqual({ maxLength: 32768, maxTokens: 2000, maxDepth: 10, maxAliases: 15, maxDirectives: 50, maxCost: 50000 });
    expect(Object.isFrozen(c.queryLimits)).toBe(true);
    expect(c.mutationsPerMinute).toBe(120);
    expect(c.maxImagePixels).toBe(40_000_000);
    expect(c.datasetChecks).toEqual({ maxImageDecodedBytes: 128 * 2 ** 20, maxDecodedBytes: 2 * 2 ** 30, seconds: 120, threads: 1 });
    expect(Object.isFrozen(c.datasetChecks)).toBe(true);
  });

  it('reads the decode budget of uploaded sets', () => {
    const c = loadConfig({
      GLIMPSE_MAX_DECODED_IMAGE_BYTES: '512MiB',
      GLIMPSE_MAX_DATASET_DECODED_BYTES: '8GiB',
      GLIMPSE_DATASET_CHECK_SECONDS: '30',
      GLIMPSE_DATASET_CHECK_THREADS: '2',
    });
    expect(c.datasetChecks).toEqual({ maxImageDecodedBytes: 512 * 2 ** 20, maxDecodedBytes: 8 * 2 ** 30, seconds: 30, threads: 2 });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      HOST: '0.0.0.0',
      GLIMPSE_PUBLIC_READ: 'true',
      GLIMPSE_MAX_QUERY_LENGTH: '5000',
      GLIMPSE_MAX_QUERY_TOKENS: '300',
      GLIMPSE_MAX_QUERY_DEPTH: '7',
      GLIMPSE_MAX_QUERY_ALIASES: '3',
      GLIMPSE_MAX_QUERY_DIRECTIVES: '4',
      GLIMPSE_MAX_QUERY_COST: '1000',
      GLIMPSE_MUTATIONS_PER_MINUTE: '0',
      GLIMPSE_MAX_IMAGE_PIXELS: '1000000',
    });
    expect(c).toMatchObject({ host: '0.0.0.0', publicRead: true, mutationsPerMinute: 0, maxImagePixels: 1_000_000 });
    expect(c.queryLimits).toEqual({ maxLength: 5000, maxTokens: 300, maxDepth: 7, maxAliases: 3, maxDirectives: 4, maxCost: 1000 });
    expect(loadConfig({ HOST: '::' }).host).toBe('::');
    expect(loadConfig({ GLIMPSE_PUBLIC_READ: 'FALSE' }).publicRead).toBe(false);
  });

  it.each([
    [{ HOST: 'http://0.0.0.0' }, 'HOST'],
    [{ HOST: '0.0.0.0:4000 ' + 'x' }, 'HOST'],
    [{ GLIMPSE_PUBLIC_READ: 'yes' }, 'GLIMPSE_PUBLIC_READ'],
    [{ GLIMPSE_MAX_QUERY_DEPTH: '0' }, 'GLIMPSE_MAX_QUERY_DEPTH'],
    [{ GLIMPSE_MAX_QUERY_TOKENS: 'many' }, 'GLIMPSE_MAX_QUERY_TOKENS'],
    [{ GLIMPSE_MUTATIONS_PER_MINUTE: '-1' }, 'GLIMPSE_MUTATIONS_PER_MINUTE'],
    [{ GLIMPSE_MAX_IMAGE_PIXELS: '10' }, 'GLIMPSE_MAX_IMAGE_PIXELS'],
    [{ GLIMPSE_MAX_DECODED_IMAGE_BYTES: 'lots' }, 'GLIMPSE_MAX_DECODED_IMAGE_BYTES'],
    [{ GLIMPSE_MAX_DATASET_DECODED_BYTES: '10' }, 'GLIMPSE_MAX_DATASET_DECODED_BYTES'],
    [{ GLIMPSE_DATASET_CHECK_SECONDS: '0' }, 'GLIMPSE_DATASET_CHECK_SECONDS'],
    [{ GLIMPSE_DATASET_CHECK_THREADS: '0' }, 'GLIMPSE_DATASET_CHECK_THREADS'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ variable }));
  });
});
