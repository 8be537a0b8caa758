// The tiers of test/tiers.ts as vitest runs them: every test file in exactly one project, the one tierOf()
// names; no stale or overlapping entry; and no unit file that reaches a child process, Chromium or a
// database through what it imports (the unit tier also refuses a test database at run time: test/helpers/db.ts).
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVitest } from 'vitest/node';
import { importsOf, ROOT, sources } from './helpers/sources.ts';
import { covers, DATABASE, SLOW, type Tier, TIERS, tierOf } from './tiers.ts';

const testFiles = sources(join(ROOT, 'test'), [join(ROOT, 'test', 'ml', 'fixtures'), join(ROOT, 'test', '.tmp')])
  .map((file) => relative(ROOT, file))
  .filter((file) => file.endsWith('.test.ts'))
  .sort();

/** what a unit test must not load: child processes, Chromium, Postgres (directly or through the test helpers) */
const NOT_IN_UNIT = /^(node:)?child_process$|^playwright-core$|^pg$|^test\/helpers\/(db|db-server|worker)\.ts$|^test\/api\/harness\.ts$/;

/** the modules a test file loads through test/ (transitively), plus the packages and src modules they name */
function reach(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const specifier of importsOf(join(ROOT, file), ROOT)) {
    if (specifier.startsWith('test/') && existsSync(join(ROOT, specifier))) reach(specifier, seen);
    else seen.add(specifier);
  }
  return seen;
}

describe('test tiers', () => {
  it('runs every test file in exactly one vitest project, the tier test/tiers.ts gives it', async () => {
    const vitest = await createVitest('test', { watch: false, config: join(ROOT, 'vitest.config.ts') });
    try {
      const specs = await vitest.globTestSpecifications();
      const projects = new Map<string, string[]>();
      for (const spec of specs) {
        const file = relative(ROOT, spec.moduleId);
        projects.set(file, [...(projects.get(file) ?? []), spec.project.name]);
      }
      expect([...projects.keys()].sort()).toEqual(testFiles);
      const mismatched = testFiles.filter((file) => projects.get(file)!.join() !== tierOf(file));
      expect(mismatched.map((file) => `${file}: ${projects.get(file)!.join(' + ')}, tiers.ts says ${tierOf(file)}`)).toEqual([]);
      expect(new Set(specs.map((s) => s.project.name))).toEqual(new Set<Tier>(TIERS));
    } finally {
      await vitest.close();
    }
  });

  it('lists only entries that exist, each once, and no file in two tiers', () => {
    const entries = [...SLOW, ...DATABASE];
    expect(entries.filter((entry, i) => entries.indexOf(entry) !== i)).toEqual([]);
    expect(entries.filter((entry) => !testFiles.some((file) => covers(entry, file)))).toEqual([]);
    const both = testFiles.filter((file) => SLOW.some((e) => covers(e, file)) && DATABASE.some((e) => covers(e, file)));
    expect(both).toEqual([]);
  });

  it('keeps child processes, Chromium and Postgres out of the unit tier', () => {
    const unit = testFiles.filter((file) => tierOf(file) === 'unit');
    expect(unit.length).toBeGreaterThan(20);
    const offending = unit.flatMap((file) => {
      const reached = [...reach(file)].filter((module) => NOT_IN_UNIT.test(module));
      return reached.length ? [`${file} → ${reached.join(', ')}: list it in test/tiers.ts`] : [];
    });
    expect(offending).toEqual([]);
    // the check sees through helpers: a file of each other tier reaches what keeps it out of unit
    expect([...reach('test/api/rate-limit.test.ts')]).toContain('test/helpers/db.ts');
    expect([...reach('test/e2e/dashboard.test.ts')]).toContain('playwright-core');
  });
});
