// A run whose COCO files this worker cannot read (a path on a volume it lacks) is handed back, not
// failed: QUEUED again with the reason in its error and a delayed job for another worker; after
// HAND_BACK_LIMIT tries it is FAILED with that reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAND_BACK_LIMIT } from '../../src/runs/index.ts';
import { startApiWithWorker, type ApiWithWorker } from '../e2e/shared.ts';
import { until } from '../helpers/until.ts';

let stack: ApiWithWorker;
beforeAll(async () => {
  stack = await startApiWithWorker();
});
afterAll(() => stack?.close());

describe('a run on files this worker cannot read', () => {
  it('is handed back with the reason, then FAILED after the limit', async () => {
    const { t } = stack;
    const dataset = await t.db.prisma.dataset.create({
      data: {
        name: 'coco-elsewhere',
        kind: 'COCO',
        status: 'READY',
        annotationsPath: '/mnt/shared-volume/captions.json',
        imagesDir: '/mnt/shared-volume/images',
      },
    });
    const start = async (handBacks: number) => {
      const run = await t.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {}, handBacks } });
      await t.db.prisma.$transaction((tx) => t.queue.enqueueTraining(tx, { runId: run.id }));
      return run.id;
    };
    const first = await start(0);
    const handed = await until(
      () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: first } }),
      (r) => r.handBacks > 0,
      60_000,
    );
    expect(handed).toMatchObject({ status: 'QUEUED', workerId: null, handBacks: 1 });
    expect(handed.error).toMatch(
      new RegExp(`handed back \\(1 of ${HAND_BACK_LIMIT}\\).*cannot read the files of dataset ${dataset.id}.*shared volume`),
    );
    // its next job waits (startAfter) for another worker
    const [job] = await t.db.prisma.$queryRaw<{ start_after: Date }[]>`
      SELECT start_after FROM pgboss.job WHERE name = 'training' AND data->>'runId' = ${first} AND state = 'created'`;
    expect(job!.start_after.getTime()).toBeGreaterThan(Date.now() + 10_000);

    const last = await start(HAND_BACK_LIMIT - 1);
    const failed = await until(
      () => t.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: last } }),
      (r) => r.status === 'FAILED',
      60_000,
    );
    expect(failed.error).toMatch(new RegExp(`no worker could read the run's files after ${HAND_BACK_LIMIT} tries`));
  });
});
