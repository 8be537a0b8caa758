// The data-dir lock: one owner per data dir, the holder named, a dead holder's lock taken over, and
// the database errors that mean "unreachable" (retried) rather than "this query failed".
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, retryWhileDatabaseDown } from '../../src/db/unavailable.ts';
import { DataDirInUseError, LOCK_FILE, lockDataDir } from '../../src/db/instance-lock.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glimpse-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lockDataDir', () => {
  it('refuses a second holder, naming the first; free again after release', async () => {
    const first = await lockDataDir(dir, 'first');
    const holder = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), command: 'first' });
    // another process (a real one: the lock is per process)
    const other = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./src/db/instance-lock.ts').then((m) => m.lockDataDir(${JSON.stringify(dir)}, 'second')).then(() => process.exit(0), (e) => { console.log(e.message); process.exit(e.code === 'DATA_DIR_IN_USE' ? 3 : 1); })`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    other.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await new Promise((r) => other.on('exit', r))).toBe(3);
    expect(out).toContain(`in use by pid ${process.pid} on ${hostname()} (first`);
    await first.release();
    const again = await lockDataDir(dir, 'again');
    await again.release();
  });

  it('takes over the lock of a holder that is gone; never guesses for another host', async () => {
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), startedAt: 'then', command: 'dead' }));
    const lock = await lockDataDir(dir, 'new');
    await lock.release();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 123, host: 'elsewhere', startedAt: 'then', command: 'remote' }));
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirInUseError);
    await rm(join(dir, LOCK_FILE));
  });
});

describe('isDatabaseUnavailable', () => {
  it('recognises a refused connection and a server shutdown, not a failing query', async () => {
    const refused = await new pg.Client({ host: '127.0.0.1', port: 1, user: 'x' }).connect().catch((e: unknown) => e);
    expect(isDatabaseUnavailable(refused)).toBe(true);
    expect(isDatabaseUnavailable({ code: '57P01', message: 'terminating connection due to administrator command' })).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: { code: 'P1001' } }))).toBe(true);
    expect(isDatabaseUnavailable({ code: '23505', message: 'duplicate key value violates unique constraint' })).toBe(false);
    expect(isDatabaseUnavailable(new Error('relation "x" does not exist'))).toBe(false);
  });

  it('retryWhileDatabaseDown retries only outages', async () => {
    let calls = 0;
    const value = await retryWhileDatabaseDown(async () => {
      if (++calls < 3) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5'), { code: 'ECONNREFUSED' });
      return 'back';
    });
    expect([value, calls]).toEqual(['back', 3]);
    await expect(
      retryWhileDatabaseDown(async () => {
        throw new Error('syntax error');
      }),
    ).rejects.toThrow('syntax error');
  });
});
