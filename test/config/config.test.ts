import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  it('applies defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe(join(process.cwd(), '.glimpse'));
    expect(c.paths.postgres).toBe(join(process.cwd(), '.glimpse', 'postgres'));
    expect(c.apiKeys).toEqual([]);
    expect(c.backend).toBeUndefined();
    expect(c.captionBatchSize).toBe(64);
    expect(c.logLevel).toBe('info');
    expect(c.embeddedPgPort).toBe(5433);
  });

  it('parses every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgresql://u:p@db:5432/glimpse',
      GLIMPSE_DATA_DIR: 'var/data',
      GLIMPSE_API_KEYS: ' k1, k2 ',
      GLIMPSE_BACKEND: 'wasm',
      GLIMPSE_CAPTION_BATCH_SIZE: '3',
      GLIMPSE_LOG_LEVEL: 'debug',
      GLIMPSE_PG_PORT: '6543',
      GLIMPSE_HEARTBEAT_SECONDS: '5',
      GLIMPSE_WASM_THREADS: '2',
      GLIMPSE_MAX_IMAGE_BYTES: '2097152',
      GLIMPSE_COCO_BASE_URL: 'https://mirror.example/coco',
      GLIMPSE_DEBUG: '1',
      HOME: '/root',
    });
    expect(c).toMatchObject({
      port: 8080,
      databaseUrl: 'postgresql://u:p@db:5432/glimpse',
      apiKeys: ['k1', 'k2'],
      backend: 'wasm',
      captionBatchSize: 3,
      logLevel: 'debug',
      embeddedPgPort: 6543,
      heartbeatSeconds: 5,
      wasmThreads: 2,
      maxImageBytes: 2 * 1024 * 1024,
      cocoBaseUrl: 'https://mirror.example/coco',
    });
    expect(isAbsolute(c.dataDir)).toBe(true);
    expect(c.dataDir).toBe(join(process.cwd(), 'var/data'));
  });

  it('returns a deeply frozen object', () => {
    const c = loadConfig({ GLIMPSE_API_KEYS: 'a' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.apiKeys)).toBe(true);
    expect(Object.isFrozen(c.paths)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ GLIMPSE_BACKEND: 'cuda' }, 'GLIMPSE_BACKEND'],
    [{ GLIMPSE_API_KEYS: 'a,,b' }, 'GLIMPSE_API_KEYS'],
    [{ GLIMPSE_API_KEYS: 'k'.repeat(1025) }, 'GLIMPSE_API_KEYS'],
    [{ GLIMPSE_CAPTION_BATCH_SIZE: '0' }, 'GLIMPSE_CAPTION_BATCH_SIZE'],
    [{ GLIMPSE_CAPTION_BATCH_SIZE: '1.5' }, 'GLIMPSE_CAPTION_BATCH_SIZE'],
    [{ GLIMPSE_LOG_LEVEL: 'loud' }, 'GLIMPSE_LOG_LEVEL'],
    [{ GLIMPSE_WASM_THREADS: '9' }, 'GLIMPSE_WASM_THREADS'],
    [{ GLIMPSE_MAX_IMAGE_BYTES: '10MB' }, 'GLIMPSE_MAX_IMAGE_BYTES'],
    [{ GLIMPSE_COCO_BASE_URL: 'ftp://mirror/coco' }, 'GLIMPSE_COCO_BASE_URL'],
    [{ GLIMPSE_DATADIR: '/tmp' }, 'GLIMPSE_DATADIR'],
  ])('rejects %o naming %s', (env, variable) => {
    const err = errorOf(env);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}:`)).toBe(true);
  });

  it('treats empty values as unset', () => {
    const c = loadConfig({ PORT: '', GLIMPSE_BACKEND: ' ', DATABASE_URL: '' });
    expect(c.port).toBe(4000);
    expect(c.backend).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
  });
});
