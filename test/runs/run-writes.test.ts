// The SQL of src/runs obeys the transition table: each write function, tried on a run in every
// status, applies exactly from the statuses its transitions list, leaves the run in the
// transition's status, enqueues a job exactly when the run becomes QUEUED, and leaves a run in any
// other status untouched. Real Postgres (a database per file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStatus, type TrainingRun } from '../../src/db/client.ts';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import {
  cancelRun,
  claimRun,
  deleteRun,
  endRun,
  HAND_BACK_LIMIT,
  handBackUnreadable,
  LeaseLostError,
  RUN_TRANSITIONS,
  type RunTransitionName,
  resumeRun,
  succeedRun,
  takeBackWorkerRuns,
  writeLeased,
} from '../../src/runs/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const STATUSES = Object.values(RunStatus);

let db: TestDatabase;
let datasetId: string;
const enqueued: string[] = [];
/** records the jobs a write enqueues (the real queue: test/queue) */
const queue = {
  enqueueTraining: async (_tx: unknown, { runId }: { runId: string }) => {
    enqueued.push(runId);
    return `job-${runId}`;
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  datasetId = (await db.prisma.dataset.create({ data: { name: 'd', kind: 'SYNTHETIC' } })).id;
});
afterAll(() => db?.drop());

/** each run's worker: one per run, so that taking back a worker's runs concerns one run */
const workerOf = (runId: string) => `worker-of-${runId}`;

/** a run in `status`, leased to its worker whatever its status (so only the status decides) */
async function runIn(status: RunStatus, extra: { cancelRequested?: boolean; handBacks?: number } = {}): Promise<string> {
  const { id } = await db.prisma.trainingRun.create({ data: { datasetId, config: {}, status, heartbeatAt: new Date(), ...extra } });
  await db.prisma.trainingRun.update({ where: { id }, data: { workerId: workerOf(id) } });
  return id;
}

const read = (id: string) => db.prisma.trainingRun.findUnique({ where: { id } });
const lease = (runId: string) => ({ runId, workerId: workerOf(runId) });

interface WriteCase {
  name: string;
  /** the transitions the write makes; `to` is the first one's unless `expected` says otherwise */
  transitions: RunTransitionName[];
  apply(id: string): Promise<unknown>;
  extra?: { cancelRequested?: boolean; handBacks?: number };
  /** what an applied write leaves (beyond the status) */
  expected?: (row: TrainingRun) => void;
}

const CASES: WriteCase[] = [
  { name: 'claimRun', transitions: ['claim'], apply: (id) => claimRun(db.prisma, id, 'w2', 30) },
  { name: 'cancelRun', transitions: ['cancelQueued', 'requestCancel'], apply: (id) => cancelRun(db.prisma, id) },
  { name: 'resumeRun', transitions: ['resume'], apply: (id) => resumeRun(db.prisma, queue, id) },
  {
    name: 'succeedRun',
    transitions: ['succeed'],
    apply: (id) => writeLeased(db.prisma, lease(id), (tx) => succeedRun(tx, lease(id))).catch(() => false),
  },
  { name: 'endRun handBack', transitions: ['handBack'], apply: (id) => endRun(db.prisma, queue, lease(id), { kind: 'handBack' }) },
  {
    name: 'endRun cancelled',
    transitions: ['stopCancelled'],
    apply: (id) => endRun(db.prisma, queue, lease(id), { kind: 'cancelled' }),
  },
  {
    name: 'endRun failed',
    transitions: ['fail'],
    apply: (id) => endRun(db.prisma, queue, lease(id), { kind: 'failed', error: 'boom' }),
    expected: (row) => expect(row).toMatchObject({ error: 'boom', workerId: workerOf(row.id), heartbeatAt: null }),
  },
  {
    name: 'handBackUnreadable',
    transitions: ['handBack'],
    apply: (id) => handBackUnreadable(db.prisma, queue, lease(id), 'no volume'),
    expected: (row) => expect(row).toMatchObject({ handBacks: 1, workerId: null, heartbeatAt: null }),
  },
  {
    name: 'handBackUnreadable at the limit',
    transitions: ['fail'],
    extra: { handBacks: HAND_BACK_LIMIT - 1 },
    apply: (id) => handBackUnreadable(db.prisma, queue, lease(id), 'no volume'),
    expected: (row) => expect(row.error).toMatch(/no worker could read the run's files after 5 tries: no volume/),
  },
  {
    name: 'takeBackWorkerRuns',
    transitions: ['reap'],
    apply: (id) => db.prisma.$transaction((tx) => takeBackWorkerRuns(tx, queue, workerOf(id))),
    expected: (row) => expect(row).toMatchObject({ workerId: null, heartbeatAt: null, leaseSeconds: null }),
  },
  {
    name: 'takeBackWorkerRuns with a cancel pending',
    transitions: ['reapCancelled'],
    extra: { cancelRequested: true },
    apply: (id) => db.prisma.$transaction((tx) => takeBackWorkerRuns(tx, queue, workerOf(id))),
  },
];

describe('the run writes follow the transition table', () => {
  for (const c of CASES) {
    it(`${c.name}: applies from ${c.transitions.flatMap((t) => RUN_TRANSITIONS[t].from).join(', ')} only`, async () => {
      for (const status of STATUSES) {
        const id = await runIn(status, c.extra);
        const before = await read(id);
        enqueued.length = 0;
        await c.apply(id);
        const after = (await read(id))!;
        const transition = c.transitions.find((t) => (RUN_TRANSITIONS[t].from as readonly RunStatus[]).includes(status));
        if (transition === undefined) {
          expect(after, `${c.name} from ${status}: refused, unchanged`).toEqual(before);
          expect(enqueued).toEqual([]);
          continue;
        }
        const to = RUN_TRANSITIONS[transition].to;
        expect(after.status, `${c.name} from ${status}`).toBe(to);
        expect(enqueued, `${c.name} from ${status}: a job exactly when QUEUED again`).toEqual(to === RunStatus.QUEUED ? [id] : []);
        c.expected?.(after);
      }
    });
  }

  it('a cancel request keeps the run RUNNING and flags it; a cancel before the claim ends it', async () => {
    const running = await runIn(RunStatus.RUNNING);
    expect(await cancelRun(db.prisma, running)).toBe(true);
    expect(await read(running)).toMatchObject({ status: 'RUNNING', cancelRequested: true, finishedAt: null });
    const queued = await runIn(RunStatus.QUEUED);
    expect(await cancelRun(db.prisma, queued)).toBe(true);
    expect((await read(queued))!.finishedAt).not.toBeNull();
    expect(await cancelRun(db.prisma, queued)).toBe(false);
  });

  it("fences a worker whose run is not its own: another worker's run is left alone", async () => {
    const id = await runIn(RunStatus.RUNNING);
    const other = { runId: id, workerId: 'w-other' };
    await expect(writeLeased(db.prisma, other, (tx) => succeedRun(tx, other))).rejects.toThrow(LeaseLostError);
    await endRun(db.prisma, queue, other, { kind: 'failed', error: 'x' });
    expect(await handBackUnreadable(db.prisma, queue, other, 'x')).toBeNull();
    expect(await read(id)).toMatchObject({ status: 'RUNNING', workerId: workerOf(id), error: null });
  });

  it('wakes the run’s subscribers when a write applies', async () => {
    let bus: EventBus | undefined;
    try {
      bus = await createEventBus(db.url);
      const id = await runIn(RunStatus.FAILED);
      const wakeUps = bus.subscribe('training_run', id);
      expect(await resumeRun(db.prisma, queue, id)).toBe(true);
      expect(await wakeUps.next()).toEqual({ value: undefined, done: false });
      await wakeUps.return!();
    } finally {
      await bus?.close();
    }
  });

  it('deletes only terminal runs, with their history; their model stays', async () => {
    for (const status of STATUSES) {
      const id = await runIn(status);
      await db.prisma.lossPoint.create({ data: { runId: id, step: 1, epoch: 1, batch: 1, loss: 1, examplesPerSec: 1 } });
      const model = await db.prisma.model.create({ data: { name: 'm', runId: id, vocabSize: 1, config: {}, metrics: {} } });
      const result = await db.prisma.$transaction((tx) => deleteRun(tx, id));
      const terminal = ([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED] as RunStatus[]).includes(status);
      expect(result, status).toEqual(terminal ? { deleted: true, checkpointBlobIds: [] } : { deleted: false, status });
      expect((await read(id)) === null, status).toBe(terminal);
      expect(await db.prisma.lossPoint.count({ where: { runId: id } })).toBe(terminal ? 0 : 1);
      expect((await db.prisma.model.findUniqueOrThrow({ where: { id: model.id } })).runId).toBe(terminal ? null : id);
    }
    expect(await db.prisma.$transaction((tx) => deleteRun(tx, '00000000-0000-0000-0000-000000000000'))).toEqual({
      deleted: false,
      status: null,
    });
  });
});
