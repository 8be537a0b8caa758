// What counts as a full disk (src/jobs/disk-space.ts): ENOSPC and EDQUOT by code or message, wrapped or not, and
// nothing else; the free space of a real filesystem against a floor; partial checkpoint folders found and removed.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskState, isDiskFull, removePartialCheckpoints } from '../../src/jobs/disk-space.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'glimpse-disk-space-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('isDiskFull', () => {
  it('recognises ENOSPC and EDQUOT, by code, message or cause, and nothing else', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(isDiskFull(enospc)).toBe(true);
    expect(isDiskFull({ code: 'EDQUOT' })).toBe(true);
    expect(isDiskFull(new Error('writing the checkpoint', { cause: enospc }))).toBe(true);
    expect(isDiskFull(new Error('No space left on device'))).toBe(true);
    expect(isDiskFull(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))).toBe(false);
    expect(isDiskFull(new Error('the loss diverged'))).toBe(false);
    expect(isDiskFull(null)).toBe(false);
  });
});

describe('diskState', () => {
  it('measures the free space of a real filesystem against the floor', async () => {
    const roomy = await diskState(dir, 0).check();
    expect(roomy.free).toBeGreaterThan(0);
    expect(roomy.full).toBe(false);
    const tight = await diskState(dir, 2 ** 60).check();
    expect(tight.full).toBe(true);
  });
});

describe('removePartialCheckpoints', () => {
  it('removes the *.tmp folders of a run and keeps the checkpoints', async () => {
    await mkdir(join(dir, 'step-0000140'));
    await mkdir(join(dir, 'step-0000150.tmp'));
    await writeFile(join(dir, 'step-0000150.tmp', 'weights.bin'), '');
    expect(await removePartialCheckpoints(dir)).toEqual(['step-0000150.tmp']);
    expect(await readdir(dir)).toEqual(['step-0000140']);
    expect(await removePartialCheckpoints(join(dir, 'missing'))).toEqual([]);
  });
});
