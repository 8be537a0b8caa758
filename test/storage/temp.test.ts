// The start-up sweep of <dataDir>/tmp (src/storage/temp.ts): a dead process's folder of this host goes at once,
// a live one's stays however old, anything else goes once older than the longest upload, and several APIs in one
// process keep each other's folders.
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProcessTemp, sweepTemp } from '../../src/storage/temp.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'glimpse-temp-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const HOUR = 3_600_000;
/** above any pid_max (2^22): never a live process */
const DEAD_PID = 4_194_304 + 17;

async function entry(name: string, ageMs: number): Promise<void> {
  await mkdir(join(root, name), { recursive: true });
  await writeFile(join(root, name, 'capacitor-00.tmp'), 'x');
  const when = new Date(Date.now() - ageMs);
  await utimes(join(root, name), when, when);
}

describe('sweepTemp', () => {
  it("removes this host's dead processes' folders at once, keeps live ones, and removes anything else only when old", async () => {
    const mine = await openProcessTemp(root, HOUR);
    const host = basename(mine.dir()).split('-')[1]!;
    await entry(`${DEAD_PID}-${host}-aa`, 0);
    await entry(`${process.ppid}-${host}-bb`, 10 * HOUR); // a live process (the test runner's parent)
    await entry(`${process.pid}-${host}-cc`, 0); // this pid on a folder this process did not open: a process before it
    await entry(`${DEAD_PID}-0badc0de-dd`, 0); // another host's: only its age counts
    await entry(`${DEAD_PID}-0badc0de-ee`, 2 * HOUR);
    await entry('glimpse-upload-old', 2 * HOUR);
    await entry('capacitor-young.tmp', 0);

    const removed = await sweepTemp(root, HOUR);
    expect(removed.sort()).toEqual(
      [`${DEAD_PID}-${host}-aa`, `${DEAD_PID}-0badc0de-ee`, `${process.pid}-${host}-cc`, 'glimpse-upload-old'].sort(),
    );
    expect((await readdir(root)).sort()).toEqual(
      [basename(mine.dir()), `${process.ppid}-${host}-bb`, `${DEAD_PID}-0badc0de-dd`, 'capacitor-young.tmp'].sort(),
    );
  });

  it('keeps the folders of the other APIs of this process, and each removes its own', async () => {
    const a = await openProcessTemp(root, HOUR);
    await writeFile(join(a.dir(), 'capacitor-1.tmp'), 'x');
    const b = await openProcessTemp(root, HOUR);
    expect(b.swept).toEqual([]);
    expect((await readdir(root)).length).toBe(2);
    await a.remove();
    expect(await readdir(root)).toEqual([basename(b.dir())]);
    await b.remove();
    expect(await readdir(root)).toEqual([]);
  });
});
