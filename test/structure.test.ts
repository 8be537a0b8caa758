// The shape of src as a newcomer meets it: no import cycle (every module can be read after what it imports)
// and no file over 300 lines (a room you can hold in your head). src/db/generated (Prisma's output) excepted.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, SRC, sources } from './helpers/sources.ts';

const MAX_LINES = 300;

/**
 * Files over the limit as they stand, each with the work that splits it. An entry fails the test once its
 * file is back within the limit (delete the entry then), and no other file may join them.
 */
const KNOWN_LONG_FILES: Readonly<Record<string, string>> = {};

/** src-relative path → the src modules it imports (type-only imports and re-exports included) */
function importGraph(): Map<string, string[]> {
  const files = sources(SRC).map((file) => relative(SRC, file));
  const known = new Set(files);
  return new Map(files.map((file) => [file, importsOf(join(SRC, file)).filter((s) => known.has(s))]));
}

/** the strongly connected components with more than one module, or a module importing itself (Tarjan) */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the shape of src', () => {
  it('finds a cycle where there is one (the check itself)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ]);
    expect(cycles(graph).sort()).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('has no import cycle', () => {
    const graph = importGraph();
    expect(graph.get('main.ts')!.length).toBeGreaterThan(0); // the graph is read
    expect(cycles(graph).map((c) => c.join(' ⇄ '))).toEqual([]);
  });

  it(`has no file over ${MAX_LINES} lines`, () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(100);
    const long = files
      .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, 'utf8').replace(/\n$/, '').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long.filter(({ file }) => !(file in KNOWN_LONG_FILES)).map(({ file, lines }) => `${file}: ${lines} lines`)).toEqual([]);
    // a file back within the limit leaves its exception behind: delete it from KNOWN_LONG_FILES
    expect(Object.keys(KNOWN_LONG_FILES).filter((file) => !long.some((l) => l.file === file))).toEqual([]);
  });
});
