// The environment the image and compose.yaml give Glimpse is one the config accepts, role by role: the Dockerfile's
// ENV plus each compose service's environment (compose's `${…}` filled in: sample values for the password and the
// keys, every other `${X:-default}` its default, as compose passes it) goes through the real loadConfig. A misspelt variable, a bad value or
// a worker role that does not exist fails here instead of at the container's start. The stack itself runs in
// .ci/image.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, VARIABLES } from '../../src/config/index.ts';

const ROOT = join(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const compose = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');

/** the variables set in the environment compose runs in; any other `${X:-default}` takes its default */
const SAMPLES: Record<string, string> = { POSTGRES_PASSWORD: 's3cret', GLIMPSE_API_KEYS: 'k1' };
const substitute = (value: string) =>
  value.replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_, name: string, op?: string, rest?: string) => SAMPLES[name] ?? (op === '-' ? (rest ?? '') : fail(`no sample for \${${name}}`)),
  );
function fail(why: string): never {
  throw new Error(why);
}

/** the run stage's ENV (the last stage's) */
function imageEnv(): Record<string, string> {
  const run = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const line = /^ENV (.+)$/m.exec(run)?.[1] ?? fail('no ENV in the run stage');
  return Object.fromEntries(line.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string]));
}

/** the `KEY: value` lines under `environment:` in a block of compose.yaml, by the 2-space key they sit under */
function environments(block: string): Record<string, Record<string, string>> {
  const envs: Record<string, Record<string, string>> = {};
  let owner = '';
  let envIndent = -1; // the indentation of the `environment:` line being read, -1 outside one
  for (const line of block.split('\n')) {
    const indent = /^ */.exec(line)![0].length;
    if (line.trim() === '') continue;
    if (indent === 2) owner = /^ {2}([\w-]+):/.exec(line)?.[1] ?? owner;
    if (indent <= envIndent) envIndent = -1;
    if (/^\s+environment:/.test(line)) envIndent = indent;
    const kv = /^\s+([A-Z_]+): (.+)$/.exec(line);
    if (envIndent >= 0 && indent > envIndent && kv) (envs[owner] ??= {})[kv[1]!] = substitute(kv[2]!.trim());
  }
  return envs;
}

/** each Glimpse service's environment: the shared x-glimpse one under its own */
function serviceEnvs(): Record<string, Record<string, string>> {
  const services = compose.indexOf('\nservices:');
  const shared = environments(compose.slice(0, services)).environment ?? fail('no x-glimpse environment');
  const own = environments(compose.slice(services, compose.indexOf('\nvolumes:')));
  const glimpse = [...compose.slice(services).matchAll(/^ {2}([\w-]+):\n {4}<<: \*glimpse$/gm)].map((m) => m[1]!);
  return Object.fromEntries(glimpse.map((name) => [name, { ...shared, ...own[name] }]));
}

describe('the image and compose environment', () => {
  const services = serviceEnvs();

  it('finds the Glimpse services and their variables', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'caption-worker', 'training-worker']);
    expect(services['training-worker']).toMatchObject({ GLIMPSE_WORKER_JOBS: 'training,dataset,evaluation,bulk-caption' });
    expect(imageEnv()).toMatchObject({ HOST: '0.0.0.0', GLIMPSE_DATA_DIR: '/data' });
  });

  it('sets only variables of the table (and NODE_OPTIONS, which is Node’s)', () => {
    const names = new Set([...Object.keys(imageEnv()), ...Object.values(services).flatMap((e) => Object.keys(e))]);
    expect([...names].filter((n) => !(n in VARIABLES) && n !== 'NODE_OPTIONS')).toEqual([]);
  });

  it.each(Object.keys(services))('%s: loadConfig accepts its environment', (name) => {
    const config = loadConfig({ ...imageEnv(), ...services[name] });
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/data');
    expect(config.databaseUrl).toBe('postgresql://postgres:s3cret@postgres:5432/glimpse');
    expect(config.apiKeys).toEqual(['k1']);
    if (name === 'caption-worker') expect(config.workerJobs).toEqual(['caption']);
    if (name === 'training-worker') expect([...config.workerJobs].sort()).toEqual(['bulk-caption', 'dataset', 'evaluation', 'training']);
  });
});
