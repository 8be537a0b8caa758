// A cross-process lock held by a file containing the holder's pid; a dead holder's lock is taken over.
import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withFileLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      // an empty file is a holder between open and write: give it time, unless it stays empty
      if ((Number.isFinite(holder) && !isAlive(holder)) || Date.now() > deadline) {
        if (Date.now() > deadline && Number.isFinite(holder) && isAlive(holder)) {
          throw new Error(`lock ${path} is held by pid ${holder}`);
        }
        await unlink(path).catch(() => undefined);
        continue;
      }
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
