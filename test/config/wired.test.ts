// Every variable of the table (src/config/variables.ts) is wired: documented where operators read (the
// README, docs/*.md, the bench's README) with the default the table states, and setting it changes the
// parsed config in a field that code outside src/config reads (or, for the few read on their own, the
// code that reads it names it). A variable that is parsed and documented but read by nothing fails here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, VARIABLES, type Variable, type VariableName } from '../../src/config/index.ts';

const ROOT = join(import.meta.dirname, '../..');
const docsDir = join(ROOT, 'docs');
const docFiles = [
  'README.md',
  'bench/README.md',
  ...(existsSync(docsDir)
    ? readdirSync(docsDir)
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`)
    : []),
];
const docLines = docFiles.flatMap((file) => readFileSync(join(ROOT, file), 'utf8').split('\n'));

/** a value that differs from the default for each variable that fills a config field */
const SAMPLES: Record<string, string> = {
  PORT: '4321',
  HOST: '0.0.0.0',
  DATABASE_URL: 'postgresql://u@db.example:5432/x',
  GLIMPSE_DATA_DIR: '/srv/glimpse',
  GLIMPSE_API_KEYS: 'k1,k2',
  GLIMPSE_API_KEY_CACHE_SECONDS: '30',
  GLIMPSE_BACKEND: 'cpu',
  GLIMPSE_MAX_IMAGE_BYTES: '2048',
  GLIMPSE_CPUS: '3',
  GLIMPSE_WASM_THREADS: '2',
  GLIMPSE_NATIVE_KERNELS: 'off',
  OPENBLAS_NUM_THREADS: '2',
  OPENBLAS_CORETYPE: 'Haswell',
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
  GLIMPSE_MAX_DECODED_IMAGE_BYTES: '64MiB',
  GLIMPSE_MAX_DATASET_DECODED_BYTES: '1GiB',
  GLIMPSE_DATASET_CHECK_SECONDS: '30',
  GLIMPSE_DATASET_CHECK_THREADS: '2',
  GLIMPSE_PUBLIC_READ: 'true',
  GLIMPSE_MAX_QUERY_LENGTH: '5000',
  GLIMPSE_MAX_QUERY_TOKENS: '500',
  GLIMPSE_MAX_QUERY_DEPTH: '5',
  GLIMPSE_MAX_QUERY_ALIASES: '3',
  GLIMPSE_MAX_QUERY_DIRECTIVES: '4',
  GLIMPSE_MAX_QUERY_COST: '1000',
  GLIMPSE_MUTATIONS_PER_MINUTE: '7',
  GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: '70',
  GLIMPSE_CAPTION_QUEUE_LIMIT: '9',
  GLIMPSE_DB_POOL_SIZE: '4',
  GLIMPSE_DB_POOL_WAIT_MS: '250',
  GLIMPSE_WS_CONNECTIONS_PER_ADDRESS: '5',
  GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION: '3',
  GLIMPSE_MAX_IMAGE_PIXELS: '5000',
  GLIMPSE_WORKER_MAX_MEMORY: '1GiB',
  GLIMPSE_CACHE_MAX_BYTES: '1048576',
  GLIMPSE_MIN_FREE_DISK: '2097152',
  GLIMPSE_WORKER_JOBS: 'caption',
  GLIMPSE_CAPTION_WORKER: 'false',
  GLIMPSE_METRICS_PORT: '9464',
  GLIMPSE_METRICS_MAX_OPERATION_NAMES: '7',
  GLIMPSE_METRICS_MAX_MODELS: '3',
  GLIMPSE_LIVEZ_MAX_DELAY_SECONDS: '30',
  GLIMPSE_DRAIN_DELAY_SECONDS: '3',
  GLIMPSE_TEST_WASM_FAULT: '/tmp/wasm-fault',
};

/** fields the code outside src/config does not read itself but hands to a config function, which does */
const READ_THROUGH: Record<string, string> = {
  nativeKernels: 'prepareNativeEnvironment',
  blasThreads: 'prepareNativeEnvironment',
  openBlasCore: 'prepareNativeEnvironment',
};

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
  .filter((f) => !relative(ROOT, f).startsWith('src/config/'))
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

const entries = Object.entries(VARIABLES) as [VariableName, Variable][];

/** the rows of the docs' tables whose columns are variable | default | meaning */
const variableRows: string[][] = [];
let header: string[] = [];
for (const [i, line] of docLines.entries()) {
  if (!line.startsWith('|')) continue;
  const cells = line.split('|').map((cell) => cell.trim());
  if (!docLines[i - 1]?.startsWith('|')) header = cells;
  else if (header[2] === 'default' && !/^-+$/.test(cells[1] ?? '')) variableRows.push(cells);
}

/** rows whose first cell names the variable (`GLIMPSE_MAX_QUERY_TOKENS` also as `…_TOKENS` beside its siblings) */
function rowsNaming(name: string): string[][] {
  const prefix = name.slice(0, name.lastIndexOf('_') + 1);
  return variableRows.filter(
    ([, first = '']) => first.includes(`\`${name}\``) || (first.includes(prefix) && first.includes(`\`…_${name.split('_').at(-1)}\``)),
  );
}
const mentioned = (name: string) => docLines.some((line) => line.includes(`\`${name}\``)) || rowsNaming(name).length > 0;

/** the top-level config fields whose value the variable changes */
function changedFields(name: string, value: string): string[] {
  const base = loadConfig({}) as unknown as Record<string, unknown>;
  const changed = loadConfig({ [name]: value }) as unknown as Record<string, unknown>;
  return Object.keys({ ...base, ...changed }).filter((k) => JSON.stringify(base[k]) !== JSON.stringify(changed[k]));
}

describe('configuration variables', () => {
  it('every variable that fills a field has a sample here; each field is filled by one variable', () => {
    const withField = entries.filter(([, v]) => v.field !== undefined);
    expect(withField.map(([name]) => name).sort()).toEqual(Object.keys(SAMPLES).sort());
    const fields = withField.map(([, v]) => v.field);
    expect(new Set(fields).size).toBe(fields.length);
  });

  it('the docs have the variables table (variable | default | meaning) this check reads', () => {
    expect(variableRows.length).toBeGreaterThan(20);
  });

  for (const [name, v] of entries.filter(([, v]) => v.section !== 'testing')) {
    it(`${name} is documented${v.field ? ', with its default' : ''}`, () => {
      expect(mentioned(name), `${name} missing from ${docFiles.join(', ')}`).toBe(true);
      for (const row of rowsNaming(name)) expect(row[2], `${name}'s documented default`).toContain(v.default);
    });
  }

  for (const [name, value] of Object.entries(SAMPLES)) {
    it(`${name} changes a config field that the code reads`, () => {
      const fields = changedFields(name, value);
      expect(fields.length, `${name}=${value} changed nothing`).toBeGreaterThan(0);
      const field = (VARIABLES[name as VariableName] as Variable).field!;
      const through = READ_THROUGH[field];
      if (through !== undefined) {
        expect(code.includes(`${through}(`), `${name} → ${field}: ${through} is called by nothing`).toBe(true);
        return;
      }
      // GLIMPSE_DATA_DIR changes paths too; one read field is enough for each variable
      expect(
        fields.some((f) => new RegExp(`\\.${f}\\b`).test(code)),
        `${name} → ${fields.join(', ')}: read by nothing`,
      ).toBe(true);
    });
  }

  it("a former name's warning reaches the start-up log", () => {
    expect(code.includes('configWarnings('), 'configWarnings is called by nothing').toBe(true);
  });

  for (const [name] of entries.filter(([, v]) => v.field === undefined)) {
    it(`${name} is read where it acts`, () => {
      expect(code.includes(name), name).toBe(true);
    });
  }
});
