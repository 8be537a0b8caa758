// RSS of a plain Node process (as a worker runs) while it streams a folder holding one file of N MB
// into the artifact store and back out, the way a checkpoint goes (tar → BlobChunk rows → tar →
// folder): `node --expose-gc --import tsx bench/blob-memory.ts <DATABASE_URL> [megabytes=100]`. Prints one JSON line:
// { megabytes, baseMB, writeGrowthMB, readGrowthMB, seconds }. Growth = peak RSS while streaming
// minus RSS just before, after a full GC when --expose-gc is given and after a 1 MB warm-up round
// trip (the database must be migrated; the blobs are deleted afterwards).
// Used by test/storage/memory.test.ts; docs/deployment.md "Deploying on several machines" quotes the figures.
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrisma } from '../src/db/client.ts';
import { commitBlob, deleteUnreferenced, exportDir, putDir } from '../src/storage/index.ts';

const url = process.argv[2];
const megabytes = Number(process.argv[3] ?? 100);
if (!url) throw new Error('usage: tsx bench/blob-memory.ts <DATABASE_URL> [megabytes]');
const MB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;
/** a full GC (with --expose-gc), and a moment for the freed pages to leave RSS, so a phase starts from what is live */
async function settle(): Promise<void> {
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc?.();
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-blob-memory-'));
  const prisma = createPrisma(url!, { max: 2 });
  try {
    // the file, written before measuring
    await mkdir(join(dir, 'in'));
    const file = await open(join(dir, 'in', 'weights.bin'), 'w');
    const block = Buffer.allocUnsafe(MB);
    for (let i = 0; i < megabytes; i++) await file.write(randomFillSync(block));
    await file.close();
    // a 1 MB round trip first, as a worker has long done before its first big checkpoint: loading the
    // code paths (Prisma's transaction machinery, the COPY streams, tar) is not streaming memory
    // (measured cold, the first round trip adds ~15–20 MB)
    await mkdir(join(dir, 'warm'));
    await writeFile(join(dir, 'warm', 'w.bin'), randomFillSync(Buffer.allocUnsafe(MB)));
    const warm = await putDir(prisma, join(dir, 'warm'));
    const warmId = await prisma.$transaction((tx) => commitBlob(tx, warm), { timeout: 60_000 });
    await exportDir(prisma, warmId, join(dir, 'warm-out'));
    await prisma.$transaction((tx) => deleteUnreferenced(tx, [warmId]));
    const started = performance.now();
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);

    // with --expose-gc (the test runs it so), each phase starts from a collected heap: its growth is
    // what streaming allocates, not garbage left by what came before
    await settle();
    const base = process.memoryUsage().rss;
    peak = base;
    const pending = await putDir(prisma, join(dir, 'in'));
    const id = await prisma.$transaction((tx) => commitBlob(tx, pending), { timeout: 60_000 });
    const writeGrowth = Math.max(peak, process.memoryUsage().rss) - base;

    await settle();
    const readBase = process.memoryUsage().rss;
    peak = readBase;
    await exportDir(prisma, id, join(dir, 'out'));
    const readGrowth = Math.max(peak, process.memoryUsage().rss) - readBase;
    clearInterval(timer);
    if ((await stat(join(dir, 'out', 'weights.bin'))).size !== megabytes * MB) throw new Error('size differs');
    await prisma.$transaction((tx) => deleteUnreferenced(tx, [id]));
    const round = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
    console.log(
      JSON.stringify({
        megabytes,
        baseMB: round(base),
        writeGrowthMB: round(writeGrowth),
        readGrowthMB: round(readGrowth),
        seconds: Math.round((performance.now() - started) / 100) / 10,
        gcExposed: gc !== undefined,
      }),
    );
  } finally {
    await prisma.$disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
