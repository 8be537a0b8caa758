// lossCurve on long runs (issue 19): min/max decimation from the LossBucket pyramid keeps every spike,
// answers at most maxPoints real points, and gives the same shape at 3,000 and 300,000 points; the
// pyramid a trigger keeps from one-row writes is the one a bulk insert gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_LEVEL, LAST_LEVEL, tileHead } from '../../src/resolvers/training/loss-curve.ts';
import { insertLongRun, lossAt, SPIKES, spikeStep } from '../helpers/long-run.ts';
import { startTestApi, type TestApi } from './harness.ts';

interface Point {
  step: number;
  epoch: number;
  batch: number;
  loss: number;
  examplesPerSec: number;
}

const CURVE = `query($id: ID!, $since: Int!, $max: Int!) { trainingRun(id: $id) { lossCurve(sinceStep: $since, maxPoints: $max) { step epoch batch loss examplesPerSec } } }`;

let t: TestApi;
const runs = new Map<number, string>();
beforeAll(async () => {
  t = await startTestApi();
  for (const steps of [3_000, 300_000]) runs.set(steps, await insertLongRun(t.db.prisma, steps));
});
afterAll(() => t?.close());

async function curve(steps: number, maxPoints: number, sinceStep = 0): Promise<Point[]> {
  const res = await t.gql<{ trainingRun: { lossCurve: Point[] } }>(CURVE, { id: runs.get(steps), since: sinceStep, max: maxPoints });
  expect(res.errors).toBeUndefined();
  return res.data!.trainingRun.lossCurve;
}

/** real stored batches, strictly in step order, all after `sinceStep` */
function expectRealPoints(points: Point[], steps: number, sinceStep = 0): void {
  points.forEach((p, i) => {
    expect(p.step).toBeGreaterThan(i === 0 ? sinceStep : points[i - 1]!.step);
    expect(p.loss).toBeCloseTo(lossAt(p.step, steps), 9);
    expect(p.batch).toBe(1 + ((p.step - 1) % 563));
  });
}

/** the lowest and highest loss of the curve in each of `n` equal slices of the run */
function envelope(points: Point[], steps: number, n: number): [number, number][] {
  const slices = Array.from({ length: n }, () => [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY] as [number, number]);
  for (const p of points) {
    const slice = slices[Math.min(n - 1, Math.floor(((p.step - 1) / steps) * n))]!;
    slice[0] = Math.min(slice[0], p.loss);
    slice[1] = Math.max(slice[1], p.loss);
  }
  return slices;
}

describe('lossCurve on long runs', () => {
  it('keeps every spike and the dip in at most maxPoints real points, at 3,000 and 300,000 points', async () => {
    for (const steps of [3_000, 300_000]) {
      for (const maxPoints of [100, 500, 2_000]) {
        const points = await curve(steps, maxPoints);
        expect(points.length).toBeLessThanOrEqual(maxPoints);
        expect(points.length).toBeGreaterThan(maxPoints / 2);
        expectRealPoints(points, steps);
        expect(points[0]!.step).toBe(1);
        expect(points.at(-1)!.step).toBe(steps);
        for (const spike of SPIKES)
          expect(points).toContainEqual(expect.objectContaining({ step: spikeStep(spike.at, steps), loss: spike.loss }));
      }
    }
  });

  it('gives the same shape at 3,000 and 300,000 points', async () => {
    const [short, long] = [envelope(await curve(3_000, 500), 3_000, 25), envelope(await curve(300_000, 500), 300_000, 25)];
    short.forEach(([low, high], i) => {
      expect(Math.abs(low - long[i]![0]), `slice ${i} low`).toBeLessThan(0.05);
      expect(Math.abs(high - long[i]![1]), `slice ${i} high`).toBeLessThan(0.05);
    });
    expect(Math.max(...long.map(([, high]) => high))).toBe(40);
    expect(Math.min(...long.map(([low]) => low))).toBe(0.01);
  });

  it('reads only steps after sinceStep, off the buckets grid, and keeps a spike just after it', async () => {
    const spike = spikeStep(SPIKES[0].at, 300_000);
    const since = spike - 7; // 75,001 − 7: not a multiple of any bucket size
    const points = await curve(300_000, 300, since);
    expect(points.length).toBeLessThanOrEqual(300);
    expectRealPoints(points, 300_000, since);
    expect(points[0]!.step).toBe(since + 1);
    expect(points.at(-1)!.step).toBe(300_000);
    expect(points).toContainEqual(expect.objectContaining({ step: spike, loss: 40 }));
    // a short range after sinceStep: every point
    expect((await curve(300_000, 500, 299_990)).map((p) => p.step)).toEqual(Array.from({ length: 10 }, (_, i) => 299_991 + i));
    expect(await curve(300_000, 500, 300_000)).toEqual([]);
  });

  it('answers a tiny maxPoints with that many points, the newest', async () => {
    for (const maxPoints of [1, 2, 3]) {
      const points = await curve(300_000, maxPoints);
      expect(points).toHaveLength(maxPoints);
      expect(points.at(-1)!.step).toBe(300_000);
    }
  });

  it('tiles a range head with aligned buckets and single steps, exactly', () => {
    for (const [lo, end, level] of [
      [1, 1023, 10],
      [75_001 - 7, 76_799, 10],
      [5, 6, 4],
      [3, 2 ** 20 - 1, LAST_LEVEL],
    ] as const) {
      const { buckets, steps } = tileHead(lo, end, level);
      const covered = [
        ...steps.map((s) => [s, s]),
        ...buckets.map(([l, b]) => {
          expect(l).toBeGreaterThanOrEqual(FIRST_LEVEL);
          expect(l).toBeLessThan(level);
          return [b * 2 ** l, (b + 1) * 2 ** l - 1];
        }),
      ].sort((a, b) => a[0]! - b[0]!);
      expect(covered[0]![0]).toBe(lo);
      expect(covered.at(-1)![1]).toBe(end);
      covered.slice(1).forEach(([first], i) => expect(first).toBe(covered[i]![1]! + 1));
      expect(steps.length).toBeLessThan(4);
      expect(buckets.length).toBeLessThanOrEqual(2 * (level - FIRST_LEVEL));
    }
  });

  it('keeps the same buckets from one-row writes (and rewrites of stored steps) as from one bulk insert', async () => {
    const prisma = t.db.prisma;
    const bulk = await insertLongRun(prisma, 300); // over 64 rows: recomputed level by level
    const dataset = await prisma.dataset.create({ data: { name: 'one-by-one', kind: 'SYNTHETIC', status: 'READY' } });
    const { id: single } = await prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
    // the bulk run's points from..to in one statement, as the worker writes them (64 rows or fewer: merged)
    const write = (from: number, to = from) => prisma.$executeRaw`
      INSERT INTO "LossPoint" ("runId", step, epoch, batch, loss, "examplesPerSec")
      SELECT ${single}, step, epoch, batch, loss, "examplesPerSec" FROM "LossPoint" WHERE "runId" = ${bulk} AND step BETWEEN ${from} AND ${to}
      ON CONFLICT DO NOTHING`;
    for (let step = 1; step <= 200; step++) await write(step);
    await write(190, 260); // a resumed run writes steps 190–200 again: 60 new rows
    for (let step = 261; step <= 300; step++) await write(step);
    const buckets = (runId: string) =>
      prisma.lossBucket.findMany({ where: { runId }, orderBy: [{ level: 'asc' }, { bucket: 'asc' }], omit: { runId: true } });
    const [written, recomputed] = [await buckets(single), await buckets(bulk)];
    // sums added in another order may differ in the last bit
    expect(written.map(({ sumLoss: _, ...b }) => b)).toEqual(recomputed.map(({ sumLoss: _, ...b }) => b));
    written.forEach((b, i) => expect(b.sumLoss).toBeCloseTo(recomputed[i]!.sumLoss, 9));
    expect(written.filter((b) => b.level === LAST_LEVEL)).toMatchObject([
      { count: 300, firstStep: 1, lastStep: 300, maxLoss: 40, maxStep: spikeStep(0.25, 300) },
    ]);

    await prisma.trainingRun.delete({ where: { id: single } });
    expect(await prisma.lossBucket.count({ where: { runId: single } })).toBe(0);
  });
});
