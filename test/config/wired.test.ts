// Every configuration variable is wired: each one the config accepts is documented in the README's
// configuration table, and setting it changes the parsed config in a field that code outside
// src/config.ts reads (or, for the few read elsewhere, the code that reads it names it). A variable
// that is parsed and documented but read by nothing fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_GLIMPSE, loadConfig } from '../../src/config.ts';

const ROOT = join(import.meta.dirname, '../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const configSection = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));

/** a value that differs from the default for each variable the config parses */
const SAMPLES: Record<string, string> = {
  PORT: '4321',
  HOST: '0.0.0.0',
  DATABASE_URL: 'postgresql://u@db.example:5432/x',
  GLIMPSE_DATA_DIR: '/srv/glimpse',
  GLIMPSE_API_KEYS: 'k1,k2',
  GLIMPSE_BACKEND: 'cpu',
  GLIMPSE_MAX_IMAGE_BYTES: '2048',
  GLIMPSE_WASM_THREADS: '2',
  GLIMPSE_CAPTION_BATCH_SIZE: '4',
  GLIMPSE_LOG_LEVEL: 'warn',
  GLIMPSE_PG_PORT: '6000',
  GLIMPSE_HEARTBEAT_SECONDS: '5',
  GLIMPSE_COCO_BASE_URL: 'http://mirror.example',
  GLIMPSE_DB_GRACE_SECONDS: '10',
  GLIMPSE_DATASET_ROOTS: '/srv/data',
  GLIMPSE_BACKBONE_HOSTS: 'models.example.com',
  GLIMPSE_BACKBONE_ALLOW_PRIVATE: 'true',
  GLIMPSE_BACKBONE_MAX_BYTES: '4096',
  GLIMPSE_BACKBONE_TIMEOUT_SECONDS: '7',
  GLIMPSE_KEEP_CAPTION_IMAGES: 'true',
  GLIMPSE_MAX_SYNTHETIC_IMAGES: '50',
  GLIMPSE_MAX_DATASET_UPLOAD_BYTES: '1MiB',
  GLIMPSE_PUBLIC_READ: 'true',
  GLIMPSE_MAX_QUERY_LENGTH: '5000',
  GLIMPSE_MAX_QUERY_TOKENS: '500',
  GLIMPSE_MAX_QUERY_DEPTH: '5',
  GLIMPSE_MAX_QUERY_ALIASES: '3',
  GLIMPSE_MAX_QUERY_DIRECTIVES: '4',
  GLIMPSE_MAX_QUERY_COST: '1000',
  GLIMPSE_MUTATIONS_PER_MINUTE: '7',
  GLIMPSE_MAX_IMAGE_PIXELS: '5000',
  GLIMPSE_WORKER_MAX_MEMORY: '1GiB',
  GLIMPSE_CACHE_MAX_BYTES: '1048576',
  GLIMPSE_WORKER_JOBS: 'caption',
  GLIMPSE_CAPTION_WORKER: 'false',
};
/** accepted by the config but read where they act (the CLI, the bench, the ML backend, tests) */
const READ_ELSEWHERE = [
  'GLIMPSE_DEBUG',
  'GLIMPSE_TORCH_PYTHON',
  'GLIMPSE_NATIVE_KERNELS',
  'GLIMPSE_NATIVE_GEMM',
  'GLIMPSE_TEST_WASM_FAULT',
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === 'generated' || e.name === 'node_modules'
        ? []
        : files(join(dir, e.name))
      : /\.(ts|mjs)$/.test(e.name)
        ? [join(dir, e.name)]
        : [],
  );
}
const code = [...files(join(ROOT, 'src')), ...files(join(ROOT, 'bench'))]
  .filter((f) => relative(ROOT, f) !== 'src/config.ts')
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

/** "GLIMPSE_MAX_QUERY_TOKENS" is documented as `…_TOKENS` after `GLIMPSE_MAX_QUERY_LENGTH` */
const documented = (name: string) => configSection.includes(`\`${name}\``) || configSection.includes(`\`…_${name.split('_').at(-1)}\``);

/** the top-level config fields whose value the variable changes */
function changedFields(name: string, value: string): string[] {
  const base = loadConfig({}) as unknown as Record<string, unknown>;
  const changed = loadConfig({ [name]: value }) as unknown as Record<string, unknown>;
  return Object.keys({ ...base, ...changed }).filter((k) => JSON.stringify(base[k]) !== JSON.stringify(changed[k]));
}

describe('configuration variables', () => {
  it('every variable the config accepts has a sample here or is read elsewhere', () => {
    for (const name of KNOWN_GLIMPSE) expect(name in SAMPLES || READ_ELSEWHERE.includes(name), name).toBe(true);
  });

  for (const [name, value] of Object.entries(SAMPLES)) {
    it(`${name} is documented and changes a config field that the code reads`, () => {
      expect(documented(name), `${name} missing from the README's configuration table`).toBe(true);
      const fields = changedFields(name, value);
      expect(fields.length, `${name}=${value} changed nothing`).toBeGreaterThan(0);
      // GLIMPSE_DATA_DIR changes paths too; one read field is enough for each variable
      expect(
        fields.some((field) => new RegExp(`\\.${field}\\b`).test(code)),
        `${name} → ${fields.join(', ')}: read by nothing`,
      ).toBe(true);
    });
  }

  for (const name of READ_ELSEWHERE) {
    it(`${name} is read where it acts`, () => {
      expect(code.includes(name) || readFileSync(join(ROOT, 'test/setup.ts'), 'utf8').includes(name), name).toBe(true);
    });
  }
});
