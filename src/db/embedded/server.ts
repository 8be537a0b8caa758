// The postgres server process: launched detached (terminal signals do not reach it), found again
// through postmaster.pid, waited for until it accepts connections, and stopped explicitly.
import { spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { childEnvironment } from '../../config/index.ts';
import { isAlive } from '../file-lock.ts';
import type { Binaries } from './binaries.ts';
import { EmbeddedPostgresError } from './embedded-postgres-error.ts';
import { USER, type RunAs } from './os-user.ts';

export const READY_TIMEOUT_MS = 60_000;

/** postmaster.pid: line 1 pid, line 4 port; a stale file (server crashed, machine restarted) is removed */
export async function runningServer(dir: string): Promise<{ pid: number; port: number } | undefined> {
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
  // its pid may even belong to another process now
  await rm(pidFile, { force: true });
  return undefined;
}

export async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // "pid (comm) state ppid ..." — comm may contain spaces, so split after the last ')'
  const ppid = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  return ppid === undefined ? undefined : Number(ppid);
}

async function logTail(logPath: string): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n');
}

export async function waitReady(port: number, password: string, pid: number, logPath: string): Promise<void> {
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

export interface LaunchOptions {
  dir: string;
  port: number;
  logPath: string;
  /** false: no fsync (test clusters) */
  durable?: boolean;
}

export async function launch(bin: Binaries, opts: LaunchOptions, ids: RunAs): Promise<number> {
  const log = await open(opts.logPath, 'a');
  try {
    const child = spawn(
      bin.postgres,
      [
        '-D',
        opts.dir,
        '-p',
        String(opts.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        ...(opts.durable === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
      ],
      { ...ids, detached: true, stdio: ['ignore', log.fd, log.fd], env: childEnvironment({ LC_ALL: 'C' }) },
    );
    child.unref();
    if (child.pid === undefined) throw new EmbeddedPostgresError(`could not spawn ${bin.postgres}`);
    return child.pid;
  } finally {
    await log.close();
  }
}

/** fast shutdown (SIGINT: roll back open transactions, disconnect clients); immediate (SIGQUIT) after 30 s */
export async function stopServer(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      return;
    }
    await sleep(50);
  }
}
