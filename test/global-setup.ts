// vitest globalSetup: picks the Postgres server for this run and builds the migrated template once.
import type { TestProject } from 'vitest/node';
import { dropLeftovers, ensureTemplate, startAdminServer } from './helpers/db-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: { adminUrl: string; template: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { adminUrl, server } = await startAdminServer();
  await dropLeftovers(adminUrl);
  const template = await ensureTemplate(adminUrl);
  project.provide('testDatabase', { adminUrl, template });
  return async () => {
    await server?.stop();
  };
}
