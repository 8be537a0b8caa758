// The dependency direction, checked on the sources' import statements. A folder is a process role:
//   API process:    src/server, src/resolvers, src/web (the browser bundle)
//   worker process: src/jobs (the job handlers and the worker entry), src/ml (the ML library)
//   both:           src/config, src/db, src/events, src/keys, src/queue, src/registry, src/runs, src/storage, src/sources,
//                   src/process, src/log.ts
// src/ml is a library that knows nothing of the app; the API never loads worker code or the ML stack
// (the pure settings schema and heatmap maths excepted); the worker never loads API code; shared code
// loads neither (the pure settings schema excepted). src/main.ts is the entry of every role and src/cli the
// command line.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, SRC, sources } from './helpers/sources.ts';

const filesUnder = (dir: string) => sources(join(SRC, dir)).map((file) => ({ file: relative(SRC, file), imports: importsOf(file) }));
const offending = (dir: string, bad: (specifier: string) => boolean) =>
  filesUnder(dir).flatMap(({ file, imports }) => imports.filter(bad).map((s) => `${file} → ${s}`));

/**
 * The modules a bundle of `entry` (a path under src) contains: its value imports followed through src, type-only
 * imports (`import type …`, `export type … from`) left out since a bundler drops them; packages as named.
 */
function importClosure(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(join(SRC, file), 'utf8');
    const statements = text.matchAll(
      /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?from\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    );
    for (const m of statements) {
      if (m[2] !== undefined || (m[1] === 'export' && m[3] === undefined)) continue;
      const specifier = (m[3] ?? m[4])!;
      if (specifier.startsWith('.')) visit(relative(SRC, resolve(dirname(join(SRC, file)), specifier)));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files: [...files].sort(), packages: [...packages].sort() };
}

describe('dependency direction', () => {
  it('reads the imports it checks', () => {
    const jobs = filesUnder('jobs').flatMap((f) => f.imports);
    expect(jobs).toContain('ml/index.ts');
    expect(jobs).toContain('db/client.ts');
    // multi-line import lists are read too
    expect(importsOf(join(SRC, 'ml/index.ts')).length).toBeGreaterThan(5);
  });

  it('src/ml imports nothing from the app: no database, GraphQL, queue, server or jobs', () => {
    const app =
      /^(db|events|jobs|resolvers|server|web|cli|config|main\.ts)(\/|$)|^(@prisma|prisma|graphql|type-graphql|@apollo|pg-boss|pg|express|graphql-ws)(\/|$)/;
    expect(offending('ml', (s) => app.test(s) || s.startsWith('..'))).toEqual([]);
  });

  it('resolvers never import src/ml or TensorFlow.js (only the pure settings schema, src/ml/settings)', () => {
    expect(offending('resolvers', (s) => (/^ml(\/|$)/.test(s) && !/^ml\/settings\//.test(s)) || /^@tensorflow\//.test(s))).toEqual([]);
  });

  it('the settings schema is pure: it imports nothing outside src/ml/settings', () => {
    const moduleLike = (s: string) => s.includes('/') || s.endsWith('.ts') || s.startsWith('node:');
    expect(offending('ml/settings', (s) => moduleLike(s) && !/^ml\/settings\//.test(s))).toEqual([]);
    expect(filesUnder('ml/settings').length).toBeGreaterThan(2);
  });

  it('the API server and the browser code load no ML stack (the web bundle may use the pure heatmap maths)', () => {
    expect(offending('server', (s) => /^ml(\/|$)|^jobs\/(worker|train|caption)|^@tensorflow\//.test(s))).toEqual([]);
    expect(offending('web', (s) => (/^ml(\/|$)/.test(s) && s !== 'ml/viz/heatmap.ts') || /^@tensorflow\//.test(s))).toEqual([]);
    expect(importsOf(join(SRC, 'ml/viz/heatmap.ts'))).toEqual([]);
  });

  it('a folder is a process role: the API never imports the worker, the worker never the API, shared code neither', () => {
    const worker = /^(jobs|ml)(\/|$)/;
    const api = /^(server|resolvers|web)(\/|$)/;
    const apiImportsWorker = ['server', 'resolvers', 'web'].flatMap((dir) =>
      offending(dir, (s) => worker.test(s) && !/^ml\/settings\//.test(s) && s !== 'ml/viz/heatmap.ts'),
    );
    expect(apiImportsWorker).toEqual([]);
    expect(offending('jobs', (s) => api.test(s))).toEqual([]);
    const shared = ['config', 'db', 'events', 'keys', 'queue', 'registry', 'runs', 'storage', 'sources', 'process'];
    // the pure settings schema excepted (the config validates GLIMPSE_BACKEND against src/ml/settings/backends.ts)
    const workerCode = (s: string) => worker.test(s) && !/^ml\/settings\//.test(s);
    expect(shared.flatMap((dir) => offending(dir, (s) => workerCode(s) || api.test(s) || s === 'main.ts'))).toEqual([]);
    expect(importsOf(join(SRC, 'log.ts')).filter((s) => worker.test(s) || api.test(s))).toEqual([]);
  });

  it('src/runs, the owner of TrainingRun state, builds on the database, events and queue only', () => {
    expect(offending('runs', (s) => !/^(db|events|queue|runs)\//.test(s))).toEqual([]);
  });

  it('the browser entry (src/ml/browser/index.ts) loads no Node module, no native addon, no sharp, no tfjs-node', () => {
    const { files, packages } = importClosure('ml/browser/index.ts');
    // it does reach the model, the decoding and the resize the worker uses
    expect(files).toEqual(expect.arrayContaining(['ml/model/captionModel.ts', 'ml/decode/index.ts', 'ml/data/resize.ts']));
    expect(files.filter((f) => !f.startsWith('ml/'))).toEqual([]);
    const node = /^node:|^(fs|path|os|crypto|module|url|buffer|worker_threads|child_process|zlib|util)$|^sharp$|^@tensorflow\/tfjs-node/;
    expect(packages.filter((p) => node.test(p))).toEqual([]);
    // the addon's loader and the Node-side file readers are not in it
    expect(
      files.filter(
        (f) =>
          /kernels\/native-addon|kernels\/native-install|data\/images|weightsFile|modelJson\.ts|backend\.ts$/.test(f) &&
          f !== 'ml/browser/backend.ts',
      ),
    ).toEqual([]);
  });
});
