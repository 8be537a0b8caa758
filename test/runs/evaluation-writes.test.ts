// The lease of an evaluation (src/runs/evaluation-state.ts) on a real Postgres: claimed by one worker, taken
// back by the reaper when its beats stop (QUEUED again with a new job, progress from zero: an evaluation
// restarts, it never resumes), the old worker fenced out, cancel of a queued, a running and a finished one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reapStaleEvaluations } from '../../src/queue/reaper.ts';
import { beatEvaluation, cancelEvaluation, claimEvaluation, createEvaluation, endEvaluation } from '../../src/runs/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let modelId: string;
let datasetId: string;
const enqueued: string[] = [];
/** records the jobs a write enqueues (the real queue: test/queue) */
const queue = {
  enqueueEvaluation: async (_tx: unknown, { evaluationId }: { evaluationId: string }) => {
    enqueued.push(evaluationId);
    return `job-${evaluationId}`;
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  datasetId = (await db.prisma.dataset.create({ data: { name: 'd', kind: 'SYNTHETIC', status: 'READY' } })).id;
  modelId = (await db.prisma.model.create({ data: { name: 'm', vocabSize: 10, config: {} } })).id;
});
afterAll(async () => {
  await db?.drop();
});

const create = () => db.prisma.$transaction((tx) => createEvaluation(tx, queue, { modelId, datasetId, split: 'VALIDATION' }));
const row = (id: string) => db.prisma.evaluation.findUniqueOrThrow({ where: { id } });
/** the evaluation's last beat `seconds` ago */
const ageBeat = (id: string, seconds: number) =>
  db.prisma.evaluation.update({ where: { id }, data: { heartbeatAt: new Date(Date.now() - seconds * 1000) } });

describe('evaluation lease', () => {
  it('a lost evaluation goes back to QUEUED with a new job and restarts from zero on another worker', async () => {
    const { id } = await create();
    expect(enqueued).toEqual([id]);
    expect(await claimEvaluation(db.prisma, { evaluationId: id, workerId: 'w1' })).toMatchObject({ status: 'RUNNING', workerId: 'w1' });
    expect(await claimEvaluation(db.prisma, { evaluationId: id, workerId: 'w2' })).toBeNull(); // a duplicate job
    expect(await beatEvaluation(db.prisma, { evaluationId: id, workerId: 'w1' }, { done: 3, total: 8 })).toEqual({
      owned: true,
      cancelRequested: false,
    });
    // beats within the lease: nothing is taken back
    expect(await reapStaleEvaluations(db.prisma, queue, { heartbeatSeconds: 1 })).toEqual([]);
    await ageBeat(id, 120);
    expect(await reapStaleEvaluations(db.prisma, queue, { heartbeatSeconds: 1 })).toEqual([{ id, status: 'QUEUED' }]);
    expect(enqueued).toEqual([id, id]);
    expect(await row(id)).toMatchObject({ status: 'QUEUED', workerId: null, done: 0 });
    // the old worker is fenced out: its beat and its end do not apply
    expect((await beatEvaluation(db.prisma, { evaluationId: id, workerId: 'w1' }, { done: 4 })).owned).toBe(false);
    expect(await claimEvaluation(db.prisma, { evaluationId: id, workerId: 'w2' })).toMatchObject({ status: 'RUNNING', done: 0 });
    expect(await endEvaluation(db.prisma, queue, { evaluationId: id, workerId: 'w1' }, { kind: 'failed', error: 'x' })).toBe(false);
    expect(
      await endEvaluation(db.prisma, queue, { evaluationId: id, workerId: 'w2' }, { kind: 'succeeded', fields: { bleu4: 0.5, done: 8 } }),
    ).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'SUCCEEDED', bleu4: 0.5, finishedAt: expect.any(Date) });
    // finished: a cancel does not apply
    expect(await cancelEvaluation(db.prisma, id)).toBe(false);
  });

  it('cancels a queued one at once; a running one stops (or is reaped) as CANCELLED', async () => {
    const queued = await create();
    expect(await cancelEvaluation(db.prisma, queued.id)).toBe(true);
    expect((await row(queued.id)).status).toBe('CANCELLED');
    expect(await claimEvaluation(db.prisma, { evaluationId: queued.id, workerId: 'w1' })).toBeNull();

    const running = await create();
    await claimEvaluation(db.prisma, { evaluationId: running.id, workerId: 'w1' });
    expect(await cancelEvaluation(db.prisma, running.id)).toBe(true);
    expect(await beatEvaluation(db.prisma, { evaluationId: running.id, workerId: 'w1' })).toEqual({ owned: true, cancelRequested: true });
    await ageBeat(running.id, 120);
    expect(await reapStaleEvaluations(db.prisma, queue, { heartbeatSeconds: 1 })).toEqual([{ id: running.id, status: 'CANCELLED' }]);
  });

  it('a draining worker hands its evaluation back to the queue', async () => {
    const { id } = await create();
    await claimEvaluation(db.prisma, { evaluationId: id, workerId: 'w1' });
    const before = enqueued.length;
    expect(await endEvaluation(db.prisma, queue, { evaluationId: id, workerId: 'w1' }, { kind: 'handBack' })).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'QUEUED', workerId: null });
    expect(enqueued.length).toBe(before + 1);
  });
});
