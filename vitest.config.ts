import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';
import { DATABASE, glob, SLOW } from './test/tiers.ts';

const require = createRequire(import.meta.url);
const ALL = ['test/**/*.test.ts'];
// the database's globalSetup (picks the Postgres server, builds the migrated template): never in the unit tier
const WITH_DATABASE = ['test/global-setup.ts'];

export default defineConfig({
  resolve: {
    // one copy of graphql, or type-graphql fails with "another module or realm": Node loads the
    // CommonJS index.js for every package (graphql has no "exports"), so our files must get it too
    // (a directory alias lets Vite pick the "module" field, index.mjs: a second copy)
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    setupFiles: ['test/setup.ts'],
    // the tiers (test/tiers.ts says which file runs where): `vitest run --project unit` etc.
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ALL, exclude: [...SLOW, ...DATABASE].map(glob), provide: { tier: 'unit' } },
      },
      {
        extends: true,
        test: { name: 'database', include: DATABASE.map(glob), globalSetup: WITH_DATABASE, provide: { tier: 'database' } },
      },
      {
        extends: true,
        test: { name: 'slow', include: SLOW.map(glob), globalSetup: WITH_DATABASE, provide: { tier: 'slow' } },
      },
    ],
  },
});
