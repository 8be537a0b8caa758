// Dynamic batching of caption requests, measured through the real API (issue 5):
// 32 concurrent `requestCaption` mutations over HTTP against one worker that decodes pending
// requests of a model together (batch up to 16) versus one that takes them one by one (batch 1).
// Untrained seed-size model (CNN 128 px → 8×8×256, GRU 512, embedding 256), greedy, 20 tokens.
//
//   npx tsx bench/caption-throughput.ts [--requests 32]
// Needs a Postgres server: BENCH_DATABASE_URL (an admin connection), default postgresql://postgres@127.0.0.1:5432/postgres;
// a scratch database is created, migrated and dropped.
import 'reflect-metadata';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { createEventBus } from '../src/events/index.ts';
import { createQueue } from '../src/queue/queue.ts';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { startWorker } from '../src/jobs/worker.ts';
import { CaptionModel, DEFAULT_MODEL_CONFIG, Vocabulary, generateShapes, initBackend, saveModel } from '../src/ml/index.ts';
import { startApi } from '../src/server/app.ts';
import pg from 'pg';
import { createPrisma, type PrismaClient } from '../src/db/client.ts';
import { ensureDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';

const argIndex = process.argv.indexOf('--requests');
const REQUESTS = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 32;
const MAX_TOKENS = 20;
const quiet = { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e ?? '') };

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-bench-'));
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `glimpse_bench_${process.pid}`;
  await ensureDatabase(admin, name);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const db = { url: url.toString(), prisma: createPrisma(url.toString()) };
  try {
    // a real set of PNGs and a model built from its captions
    const shapes = await generateShapes({ outDir: join(dir, 'shapes'), images: REQUESTS, seed: 7, imageSize: 64 });
    const annotations = JSON.parse(await readFile(shapes.annotationsPath, 'utf8')) as { annotations: { caption: string }[] };
    const vocab = Vocabulary.build(annotations.annotations.map((a) => a.caption));
    const config = { ...DEFAULT_MODEL_CONFIG, vocabSize: vocab.size, maxLength: MAX_TOKENS + 2 };
    await initBackend(process.env.GLIMPSE_BACKEND, nativeBackendOptions());
    const model = CaptionModel.create(config, 1);
    const modelDir = join(dir, 'model');
    await saveModel(modelDir, { model, vocab });
    model.dispose();
    const row = await db.prisma.model.create({ data: { name: 'bench', path: modelDir, vocabSize: vocab.size, config } });
    const files = (await readdir(shapes.imagesDir)).sort().slice(0, REQUESTS);
    const images = await Promise.all(files.map((f) => readFile(join(shapes.imagesDir, f), 'base64')));

    const appConfig = loadConfig({ GLIMPSE_DATA_DIR: join(dir, 'data') });
    const events = await createEventBus(db.url);
    const queue = await createQueue(db.url);
    await queue.start();
    const api = await startApi({ config: appConfig, prisma: db.prisma, events, queue, port: 0, host: '127.0.0.1' });
    const rows: string[][] = [];
    try {
      for (const batch of [16, 1]) {
        const worker = await startWorker({ config: appConfig, prisma: db.prisma, queue, captionBatchSize: batch, log: quiet });
        // warm-up: loads the model into the worker's cache
        await captionAll(api.url, row.id, images.slice(0, 1), db.prisma);
        const t0 = performance.now();
        const ids = await captionAll(api.url, row.id, images, db.prisma);
        const wall = performance.now() - t0;
        const done = await db.prisma.captionRequest.findMany({ where: { id: { in: ids } } });
        const latencies = done.map((r) => r.finishedAt!.getTime() - r.createdAt.getTime()).sort((a, b) => a - b);
        const batchSizes = done.map((r) => (r.timings as { batchSize?: number } | null)?.batchSize ?? 1);
        rows.push([
          String(batch),
          String(REQUESTS),
          (wall / 1000).toFixed(2),
          ((REQUESTS * 1000) / wall).toFixed(2),
          String(latencies[Math.floor(latencies.length / 2)]),
          String(latencies[latencies.length - 1]),
          (batchSizes.reduce((a, b) => a + b, 0) / batchSizes.length).toFixed(1),
        ]);
        await worker.stop({ graceful: true });
      }
    } finally {
      await api.close();
      await queue.stop();
      await events.close();
    }
    const head = ['max batch', 'requests', 'wall s', 'captions/s', 'p50 ms', 'max ms', 'mean batch'];
    console.log(`\n${REQUESTS} concurrent requestCaption over HTTP, greedy ${MAX_TOKENS} tokens, seed-size model\n`);
    console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---:').join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    const [batched, single] = rows;
    console.log(`\nbatched / one by one throughput: ${(Number(batched![3]) / Number(single![3])).toFixed(2)}×`);
  } finally {
    await db.prisma.$disconnect();
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sends every image at once through the API and waits until all requests are finished. */
async function captionAll(url: string, modelId: string, images: string[], prisma: PrismaClient): Promise<string[]> {
  const query = `mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id } }`;
  const ids = await Promise.all(
    images.map(async (imageBase64) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { input: { modelId, imageBase64, maxLength: MAX_TOKENS } } }),
      });
      const body = (await res.json()) as { data?: { requestCaption: { id: string } }; errors?: unknown };
      if (!body.data) throw new Error(`requestCaption failed: ${JSON.stringify(body.errors)}`);
      return body.data.requestCaption.id;
    }),
  );
  for (;;) {
    const pending = await prisma.captionRequest.count({ where: { id: { in: ids }, status: { in: ['QUEUED', 'RUNNING'] } } });
    if (pending === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const failed = await prisma.captionRequest.count({ where: { id: { in: ids }, status: 'FAILED' } });
  if (failed) throw new Error(`${failed} caption requests failed`);
  return ids;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
