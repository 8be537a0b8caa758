// A run's loss curve after `sinceStep`: every point, or for long runs at most `maxPoints` of them
// chosen by min/max decimation, so spikes stay: the range is cut into ≤ (maxPoints − 2) / 2 equal
// slices of steps and each slice gives its lowest and highest point, plus the range's first and last.
// The slices are read from the LossBucket pyramid (prisma/migrations/20261207170000_loss_buckets),
// not from the points: a level whose buckets are half a slice to a slice wide, and for the head of the range
// that is not aligned on that level, the few smaller buckets that tile it exactly. The cost follows
// maxPoints, not the run's length (bench/loss-curve.ts: 3,000 vs 300,000 points).
import type { PrismaClient } from '../../db/client.ts';
import type { LossPoint } from './training-history.type.ts';

/** the pyramid's levels: a bucket of level L holds 2^L steps (step >> L) */
export const FIRST_LEVEL = 2;
export const LAST_LEVEL = 20;

/** a stretch of steps with its lowest and highest point: one bucket, or one point (both the same) */
interface Piece {
  firstStep: number;
  minLoss: number;
  minStep: number;
  minEpoch: number;
  minBatch: number;
  minExamplesPerSec: number;
  maxLoss: number;
  maxStep: number;
  maxEpoch: number;
  maxBatch: number;
  maxExamplesPerSec: number;
}

const lowPoint = (p: Piece): LossPoint => ({
  step: p.minStep,
  epoch: p.minEpoch,
  batch: p.minBatch,
  loss: p.minLoss,
  examplesPerSec: p.minExamplesPerSec,
});
const highPoint = (p: Piece): LossPoint => ({
  step: p.maxStep,
  epoch: p.maxEpoch,
  batch: p.maxBatch,
  loss: p.maxLoss,
  examplesPerSec: p.maxExamplesPerSec,
});

/** Aligned buckets (level < `level`) and single steps that tile lo..end exactly, end + 1 aligned on 2^level. */
export function tileHead(lo: number, end: number, level: number): { buckets: [number, number][]; steps: number[] } {
  const buckets: [number, number][] = [];
  const steps: number[] = [];
  let s = lo;
  while (s <= end) {
    let k = level - 1;
    while (k >= FIRST_LEVEL && (s % 2 ** k !== 0 || s + 2 ** k - 1 > end)) k--;
    if (k < FIRST_LEVEL) {
      steps.push(s);
      s += 1;
    } else {
      buckets.push([k, s / 2 ** k]);
      s += 2 ** k;
    }
  }
  return { buckets, steps };
}

export async function lossCurve(prisma: PrismaClient, runId: string, sinceStep: number, maxPoints: number): Promise<LossPoint[]> {
  const [range] = await prisma.$queryRaw<{ lo: number | null; hi: number | null }[]>`
    SELECT min(step)::int AS lo, max(step)::int AS hi FROM "LossPoint" WHERE "runId" = ${runId} AND step > ${sinceStep}::int`;
  const { lo, hi } = range ?? { lo: null, hi: null };
  if (lo === null || hi === null) return [];
  const select = { step: true, epoch: true, batch: true, loss: true, examplesPerSec: true } as const;
  // steps are unique: a range no longer than maxPoints holds at most maxPoints points
  if (hi - lo + 1 <= maxPoints) {
    return prisma.lossPoint.findMany({ where: { runId, step: { gt: sinceStep } }, orderBy: { step: 'asc' }, select });
  }
  const slices = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const width = (hi - lo + 1) / slices;
  // the widest buckets no wider than a slice: each slice gets one or two of them
  let level = FIRST_LEVEL;
  while (level < LAST_LEVEL && 2 ** (level + 1) <= width) level++;
  const firstFull = lo % 2 ** level === 0 ? lo >> level : (lo >> level) + 1;
  const head = tileHead(lo, Math.min(hi, firstFull * 2 ** level - 1), level);
  // the range's first and last point, and the head's few single steps, from LossPoint
  const single = [lo, ...head.steps, hi];
  // one JSON value rather than a row per piece: decoding ~maxPoints rows field by field costs more than the query
  const [{ pieces }] = await prisma.$queryRaw<[{ pieces: Piece[] }]>`
    SELECT coalesce(json_agg(x), '[]') AS pieces FROM (
      SELECT "firstStep", "minLoss", "minStep", "minEpoch", "minBatch", "minExamplesPerSec",
             "maxLoss", "maxStep", "maxEpoch", "maxBatch", "maxExamplesPerSec"
      FROM "LossBucket"
      WHERE "runId" = ${runId} AND "level" = ${level}::int AND "bucket" BETWEEN ${firstFull}::int AND ${hi >> level}::int
      UNION ALL
      SELECT b."firstStep", b."minLoss", b."minStep", b."minEpoch", b."minBatch", b."minExamplesPerSec",
             b."maxLoss", b."maxStep", b."maxEpoch", b."maxBatch", b."maxExamplesPerSec"
      FROM unnest(${head.buckets.map(([l]) => l)}::int[], ${head.buckets.map(([, b]) => b)}::int[]) AS h(level, bucket)
      JOIN "LossBucket" b ON b."runId" = ${runId} AND b."level" = h.level AND b."bucket" = h.bucket
      UNION ALL
      SELECT p.step, p.loss, p.step, p.epoch, p.batch, p."examplesPerSec", p.loss, p.step, p.epoch, p.batch, p."examplesPerSec"
      FROM unnest(${single}::int[]) AS s(step) JOIN "LossPoint" p ON p."runId" = ${runId} AND p.step = s.step
    ) AS x`;

  // the lowest and highest point of each slice, and the range's ends
  const lowest = new Map<number, Piece>();
  const highest = new Map<number, Piece>();
  const points = new Map<number, LossPoint>();
  for (const piece of pieces) {
    if (piece.minStep === lo || piece.minStep === hi) points.set(piece.minStep, lowPoint(piece));
    const slice = Math.min(slices - 1, Math.floor((piece.firstStep - lo) / width));
    const low = lowest.get(slice);
    if (!low || piece.minLoss < low.minLoss || (piece.minLoss === low.minLoss && piece.minStep < low.minStep)) lowest.set(slice, piece);
    const high = highest.get(slice);
    if (!high || piece.maxLoss > high.maxLoss || (piece.maxLoss === high.maxLoss && piece.maxStep < high.maxStep))
      highest.set(slice, piece);
  }
  for (const piece of lowest.values()) points.set(piece.minStep, lowPoint(piece));
  for (const piece of highest.values()) points.set(piece.maxStep, highPoint(piece));
  // maxPoints < 4: the newest points
  return [...points.values()].sort((a, b) => a.step - b.step).slice(-maxPoints);
}
