import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startDatabase } from '../../src/db/database.ts';
import { isAlive } from '../../src/db/file-lock.ts';

const dataDir = join(process.cwd(), 'test', '.tmp', `db-${randomBytes(4).toString('hex')}`);
const config = loadConfig({ GLIMPSE_DATA_DIR: dataDir, GLIMPSE_PG_PORT: '5491' });
const pidFile = join(config.paths.postgres, 'postmaster.pid');

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function postmasterPid(): Promise<number> {
  return Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0]!, 10);
}

async function waitDead(pid: number): Promise<void> {
  while (isAlive(pid)) await sleep(20);
}

const freshDir = `${dataDir}-fresh`;

afterAll(async () => {
  for (const dir of [dataDir, freshDir]) {
    const text = await readFile(join(dir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => undefined);
    if (text) process.kill(Number.parseInt(text, 10), 'SIGINT');
    await rm(dir, { recursive: true, force: true });
  }
});

describe('startDatabase', () => {
  it('returns DATABASE_URL untouched when it is set', async () => {
    const db = await startDatabase(loadConfig({ DATABASE_URL: 'postgresql://u@db.example:5432/x' }));
    expect(db).toMatchObject({ url: 'postgresql://u@db.example:5432/x', embedded: false });
    await db.stop();
  });

  it('initialises, starts, reuses the cluster after a stop, and attaches from a second caller', async () => {
    const first = await startDatabase(config, { durable: false });
    expect(first.embedded).toBe(true);
    expect(new URL(first.url).port).toBe('5491');
    await query(first.url, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');

    const second = await startDatabase(config, { durable: false });
    expect(second.url).toBe(first.url);
    await second.stop(); // not the owner: the server keeps running
    expect(await query(first.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);

    const pid = await postmasterPid();
    await first.stop();
    expect(isAlive(pid)).toBe(false);

    const again = await startDatabase(config, { durable: false });
    expect(await query(again.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
    await again.stop();
  });

  it('recovers from a crashed server (stale postmaster.pid after SIGKILL)', async () => {
    const db = await startDatabase(config, { durable: false });
    const pid = await postmasterPid();
    process.kill(pid, 'SIGKILL');
    await waitDead(pid);
    expect(await readFile(pidFile, 'utf8')).toContain(String(pid)); // left behind

    const restarted = await startDatabase(config, { durable: false });
    expect(await query(restarted.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
    expect(await postmasterPid()).not.toBe(pid);
    await restarted.stop();
    await db.stop(); // already dead: harmless
  });

  it('ignores a postmaster.pid whose pid now belongs to another process', async () => {
    await writeFile(pidFile, `${process.pid}\n${config.paths.postgres}\n0\n5491\n\n127.0.0.1\n0 0\nready\n`);
    const db = await startDatabase(config, { durable: false });
    expect(await query(db.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await db.stop();
  });

  it('adopts a server left running by a process that was killed', async () => {
    const script = `import { startDatabase } from './src/db/database.ts';
      import { loadConfig } from './src/config/index.ts';
      const db = await startDatabase(loadConfig({ GLIMPSE_DATA_DIR: ${JSON.stringify(dataDir)}, GLIMPSE_PG_PORT: '5491' }), { durable: false });
      console.log(db.url);
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const orphan = await postmasterPid();
    expect(isAlive(orphan)).toBe(true);

    const db = await startDatabase(config, { durable: false });
    expect(db.url).toBe(url);
    await db.stop();
    expect(isAlive(orphan)).toBe(false);
  });

  it('shares one new server between callers starting at once on a fresh folder', async () => {
    const fresh = loadConfig({ GLIMPSE_DATA_DIR: freshDir, GLIMPSE_PG_PORT: '5492' });
    const both = await Promise.all([startDatabase(fresh, { durable: false }), startDatabase(fresh, { durable: false })]);
    expect(both[0].url).toBe(both[1].url);
    expect(await query(both[1].url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await Promise.all(both.map((db) => db.stop()));
  });

  it('refuses to open a cluster whose password file is gone instead of re-initialising it', async () => {
    const passwordFile = `${config.paths.postgres}.password`;
    await rename(passwordFile, `${passwordFile}.bak`);
    try {
      await expect(startDatabase(config, { durable: false })).rejects.toMatchObject({ code: 'EMBEDDED_POSTGRES_FAILED' });
    } finally {
      await rename(`${passwordFile}.bak`, passwordFile);
    }
    const db = await startDatabase(config, { durable: false });
    expect(await query(db.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
    await db.stop();
  });
});
