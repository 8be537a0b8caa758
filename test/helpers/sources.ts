// The TypeScript files under a folder and the modules each imports, read from the source text: what the
// structural tests (test/architecture.test.ts, test/structure.test.ts, test/tiers.test.ts) check.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const SRC = join(ROOT, 'src');

/** the .ts files under `dir` (absolute paths), without the folders named in `skip` (absolute paths too) */
export function sources(dir: string, skip: readonly string[] = [join(SRC, 'db', 'generated')]): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skip.includes(path) ? [] : sources(path, skip);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Every module specifier a file imports (static, type-only, re-exports and dynamic imports); relative ones
 * resolved to paths relative to `base` (default src).
 */
export function importsOf(file: string, base = SRC): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import\s+(?:[^'";]*?from\s*)?|export\s+(?:type\s+)?[{*][^'";]*?from\s*)['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => (m[1] ?? m[2])!);
  return specifiers.map((s) => (s.startsWith('.') ? relative(base, resolve(dirname(file), s)) : s));
}
