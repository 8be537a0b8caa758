// Memory while a worker streams a 100 MB folder (one file, as a checkpoint's weights) into the
// artifact store and back out: bench/blob-memory.ts in a plain Node process, as a worker runs, with
// --expose-gc so that each phase is measured from a collected heap (peak RSS while streaming minus
// RSS right after a full GC). What grows is transient buffers V8 has not collected yet (it collects
// them once external memory grows by 64 MB), not the blob: 300 MB grow it no more than 100 MB do.
// docs/deployment.md "Deploying on several machines" quotes the figures.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

interface Figures {
  megabytes: number;
  writeGrowthMB: number;
  readGrowthMB: number;
}

async function bench(megabytes: number): Promise<Figures> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'bench/blob-memory.ts', db.url, String(megabytes)],
    {
      timeout: 240_000,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures;
}

describe('streaming a 100 MB folder through the store', { timeout: 300_000 }, () => {
  it('keeps RSS growth bounded, independent of the blob size', async () => {
    const hundred = await bench(100);
    const threeHundred = await bench(300);
    console.log(
      `RSS growth: 100 MB ${hundred.writeGrowthMB} MB in / ${hundred.readGrowthMB} MB out; 300 MB ${threeHundred.writeGrowthMB} MB in / ${threeHundred.readGrowthMB} MB out`,
    );
    // issue 11's bound, both ways and at either size: packDir reads into one reused buffer and the COPY
    // fills two preallocated rows (src/storage/tar.ts, copy.ts), so writing no longer leaves a fresh
    // buffer per 64 KiB read for V8 to collect (it was 44–57 MB before)
    for (const f of [hundred, threeHundred]) {
      expect(f.writeGrowthMB).toBeLessThan(50);
      expect(f.readGrowthMB).toBeLessThan(50);
    }
  });
});
