// Bulk captioning throughput (issue 22): the images/s of one `bulk-caption` job (queue, worker, batched decode,
// one result transaction per batch) beside the decoder's own batched rate on the same images and model
// (captionBatch in batches of GLIMPSE_CAPTION_BATCH_SIZE, nothing stored): what the job's bookkeeping costs.
// The model has the demo architecture (CNN [16, 32, 64] on 64 px, GRU 128, deep output), untrained, greedy,
// 12 tokens at most; the images are a generated synthetic set on local disk. The worker runs in this process
// on the worker's default backend (GLIMPSE_BACKEND unset).
//
//   npx tsx bench/bulk-caption.ts [--images 2000]
// Needs a Postgres server: BENCH_DATABASE_URL (an admin connection), else the test servers' rule
// (TEST_DATABASE_URL, a local server on :5432, or an embedded one); a scratch database is created and dropped.
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/index.ts';
import { createPrisma } from '../src/db/client.ts';
import { ensureDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { startWorker } from '../src/jobs/worker.ts';
import { CaptionModel, generateShapes, loadCaptioner, loadCocoCaptions, Vocabulary } from '../src/ml/index.ts';
import { saveModel } from '../src/ml/saved-model.ts';
import { createQueue } from '../src/queue/queue.ts';
import { databaseUrl, startAdminServer } from '../test/helpers/db-server.ts';

const at = process.argv.indexOf('--images');
const IMAGES = at > 0 ? Number(process.argv[at + 1]) : 2000;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const started = process.env.BENCH_DATABASE_URL ? { adminUrl: process.env.BENCH_DATABASE_URL } : await startAdminServer();
  const admin = started.adminUrl;
  const name = `glimpse_bench_bulk_${process.pid}`;
  await ensureDatabase(admin, name);
  const url = databaseUrl(admin, name);
  await migrate(url);
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-bench-bulk-'));
  const prisma = createPrisma(url);
  const queue = await createQueue(url);
  await queue.start();
  const config = loadConfig({ GLIMPSE_DATA_DIR: join(dir, 'data'), GLIMPSE_WORKER_JOBS: 'bulk-caption' });
  const quiet = { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e) };
  const worker = await startWorker({ config, prisma, queue, log: quiet });
  try {
    const set = await generateShapes({ outDir: join(dir, 'set'), images: IMAGES, seed: 1 });
    const vocab = Vocabulary.build(['a red circle left of a blue square', 'a green triangle above a small yellow star']);
    const model = CaptionModel.create(
      {
        encoder: { kind: 'cnn', imageSize: 64, channels: [16, 32, 64] },
        gridSize: 8,
        encoderDim: 64,
        embeddingDim: 64,
        units: 128,
        vocabSize: vocab.size,
        maxLength: 12,
        attentionLambda: 0,
        deepOutput: true,
      },
      1,
    );
    const modelDir = join(dir, 'model');
    await saveModel(modelDir, { model, vocab });
    model.dispose();

    // the decoder alone: the same files, the same batches, nothing stored (the first batch warms up, not counted)
    const images = await loadCocoCaptions({ annotationsPath: set.annotationsPath, imagesDir: set.imagesDir, checkFiles: false });
    const captioner = await loadCaptioner(modelDir);
    const batch = config.captionBatchSize;
    await captioner.captionBatch(
      images.slice(0, batch).map((i) => i.file),
      { method: 'greedy' },
    );
    const decodeStart = performance.now();
    for (let i = 0; i < images.length; i += batch) {
      await captioner.captionBatch(
        images.slice(i, i + batch).map((img) => img.file),
        { method: 'greedy' },
      );
    }
    const decodeRate = images.length / ((performance.now() - decodeStart) / 1000);
    captioner.dispose();

    // the job: rows in, the worker's queue and batches, results stored per batch
    const dataset = await prisma.dataset.create({
      data: {
        name: 'bench',
        kind: 'SYNTHETIC',
        status: 'READY',
        annotationsPath: set.annotationsPath,
        imagesDir: set.imagesDir,
        imageCount: IMAGES,
      },
    });
    const modelRow = await prisma.model.create({ data: { name: 'bench', path: modelDir, vocabSize: vocab.size, config: {} } });
    const job = await prisma.$transaction(async (tx) => {
      const row = await tx.bulkCaptionJob.create({ data: { modelId: modelRow.id, datasetId: dataset.id, total: IMAGES, maxLength: 12 } });
      await queue.enqueueBulkCaption(tx, { jobId: row.id }, 'NORMAL');
      return row;
    });
    const queuedAt = performance.now();
    let ended = await prisma.bulkCaptionJob.findUniqueOrThrow({ where: { id: job.id } });
    while (ended.status === 'QUEUED' || ended.status === 'RUNNING') {
      await new Promise((r) => setTimeout(r, 100));
      ended = await prisma.bulkCaptionJob.findUniqueOrThrow({ where: { id: job.id } });
    }
    const wall = (performance.now() - queuedAt) / 1000;
    const working = (ended.finishedAt!.getTime() - ended.startedAt!.getTime()) / 1000;
    console.log(`${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, ${IMAGES} images of 64 px, batch ${batch}`);
    console.log('| | images/s |\n|---|--:|');
    console.log(`| decoder alone (captionBatch) | ${decodeRate.toFixed(0)} |`);
    console.log(`| bulk-caption job, started → SUCCEEDED | ${(ended.done / working).toFixed(0)} |`);
    console.log(`| bulk-caption job, enqueue → SUCCEEDED | ${(ended.done / wall).toFixed(0)} |`);
    console.log(`job ${ended.status}, ${ended.done} results (${ended.failed} failed); load average ${load()}`);
  } finally {
    await worker.stop({ graceful: true });
    await queue.stop({ graceful: false });
    await prisma.$disconnect();
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
    await rm(dir, { recursive: true, force: true });
    if ('server' in started) await started.server?.stop();
  }
}

await main();
