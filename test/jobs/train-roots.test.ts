// The training job re-checks a COCO set's paths against the dataset roots before reading them: a row
// whose files lie outside (a root narrowed since, or a symlink swapped in after createDataset) FAILS
// with a reason that names the roots' variable and nothing of the file.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.ts';
import { startTestWorker, TINY_RUN, type TestWorker } from '../helpers/worker.ts';

let t: TestWorker;
let outside: string;
beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), 'glimpse-root-'));
  outside = await mkdtemp(join(tmpdir(), 'glimpse-outside-'));
  await mkdir(join(outside, 'images'));
  await sharp({ create: { width: 32, height: 32, channels: 3, background: '#f00' } })
    .png()
    .toFile(join(outside, 'images', 'a.png'));
  await writeFile(
    join(outside, 'captions.json'),
    JSON.stringify({ images: [{ id: 1, file_name: 'a.png' }], annotations: [{ image_id: 1, caption: 'a red square' }] }),
  );
  t = await startTestWorker('w-roots', { GLIMPSE_DATASET_ROOTS: root });
});
afterAll(async () => {
  await t?.close();
  await rm(outside, { recursive: true, force: true });
});

describe('training on a COCO set outside the roots', () => {
  it('fails the run with the roots named, reading nothing', async () => {
    const { db, queue } = t;
    const dataset = await db.prisma.dataset.create({
      data: {
        name: 'moved',
        kind: 'COCO',
        status: 'READY',
        annotationsPath: join(outside, 'captions.json'),
        imagesDir: join(outside, 'images'),
        imageCount: 1,
        captionCount: 1,
      },
    });
    const runId = await db.prisma.$transaction(async (tx) => {
      const run = await tx.trainingRun.create({ data: { datasetId: dataset.id, config: TINY_RUN } });
      await queue.enqueueTraining(tx, { runId: run.id });
      return run.id;
    });
    const run = await until(
      () => db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } }),
      (r) => r.status === 'FAILED' || r.status === 'SUCCEEDED',
      60_000,
    );
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/dataset roots \(GLIMPSE_DATASET_ROOTS\)/);
    expect(run.error).not.toContain(outside);
    expect(await db.prisma.lossPoint.count({ where: { runId } })).toBe(0);
  });
});
