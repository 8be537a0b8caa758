// Only the config package reads the environment: every other file under src gets its values from the
// parsed config (or readVariable / logLevelFromEnv / childEnvironment), so a variable cannot be read in a
// second place with a second default or parser. Generated code (src/db/generated) is not ours.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** `process.env`, `process['env']`, or `env` imported from node:process */
const ENV_ACCESS = /\bprocess\s*(?:\.\s*env\b|\[\s*['"]env['"]\s*\])|\{[^}]*\benv\b[^}]*\}\s*from\s*['"](?:node:)?process['"]/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const readers = sources(SRC)
  .filter((file) => ENV_ACCESS.test(readFileSync(file, 'utf8')))
  .map((file) => relative(SRC, file));

describe('environment access', () => {
  it('nothing outside src/config reads process.env', () => {
    expect(readers.filter((file) => !file.startsWith('config/'))).toEqual([]);
  });

  it('the config package does (the check sees what it looks for)', () => {
    expect(readers).toContain('config/index.ts');
  });
});
