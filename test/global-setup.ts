import 'reflect-metadata';
// vitest globalSetup of the tiers with a database: picks the Postgres server for this run and builds the
// migrated template once. The database and slow projects both name this file and vitest runs it once per
// project, in one process: the first call starts what the run needs, the others share it (an embedded
// server started twice would collide on its port), and the last teardown stops it.
import type { TestProject } from 'vitest/node';
import type { Database } from '../src/db/database.ts';
import { dropLeftovers, ensureTemplate, startAdminServer } from './helpers/db-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: { adminUrl: string; template: string };
  }
}

interface Shared {
  ready: Promise<{ adminUrl: string; template: string; server?: Database }>;
  projects: number;
}
// globalThis, not a module variable: each project may load this file through its own module runner
const SHARED = Symbol.for('glimpse.test-database-server');
const slot = globalThis as { [SHARED]?: Shared };

async function start(): Promise<{ adminUrl: string; template: string; server?: Database }> {
  const { adminUrl, server } = await startAdminServer();
  await dropLeftovers(adminUrl);
  return { adminUrl, server, template: await ensureTemplate(adminUrl) };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = (slot[SHARED] ??= { ready: start(), projects: 0 });
  shared.projects++;
  const { adminUrl, template } = await shared.ready;
  project.provide('testDatabase', { adminUrl, template });
  return async () => {
    if (--shared.projects > 0) return;
    delete slot[SHARED];
    await (await shared.ready).server?.stop();
  };
}
