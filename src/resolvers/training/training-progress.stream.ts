// trainingProgress: stored LossPoints / EpochSummaries / status first, then live ones, read from
// the database after every `training_run` wake-up. Completes after the terminal STATUS event; ends
// with SERVICE_UNAVAILABLE when the database is lost (the run goes on: subscribe again with sinceStep).
import type { EpochSummary, LossPoint, RunStatus } from '../../db/client.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { isTerminalRun } from '../shared/enums.ts';
import { NotFoundError } from '../shared/api-errors.ts';
import { openStream, type ReadResult } from '../shared/follow-rows.ts';
import { ProgressKind, TrainingProgressEvent } from './training-progress.type.ts';

/** rows fetched per read; a longer history is replayed over several reads */
const PAGE = 500;

interface RunSnapshot {
  status: RunStatus;
  step: number;
  epoch: number;
  error: string | null;
}

const batchEvent = (p: LossPoint, status: RunStatus): TrainingProgressEvent => ({
  kind: ProgressKind.BATCH,
  step: p.step,
  epoch: p.epoch,
  batch: p.batch,
  loss: p.loss,
  examplesPerSec: p.examplesPerSec,
  valLoss: null,
  bleu4: null,
  objectF1: null,
  exactRate: null,
  status,
  error: null,
});

const epochEvent = (s: EpochSummary, status: RunStatus): TrainingProgressEvent => ({
  kind: ProgressKind.EPOCH,
  step: s.step,
  epoch: s.epoch,
  batch: null,
  loss: s.trainLoss,
  examplesPerSec: null,
  valLoss: s.valLoss,
  bleu4: s.bleu4,
  objectF1: s.objectF1,
  exactRate: s.exactRate,
  status,
  error: null,
});

const statusEvent = (run: RunSnapshot): TrainingProgressEvent => ({
  kind: ProgressKind.STATUS,
  step: run.step,
  epoch: run.epoch,
  batch: null,
  loss: null,
  examplesPerSec: null,
  valLoss: null,
  bleu4: null,
  objectF1: null,
  exactRate: null,
  status: run.status,
  error: run.error,
});

export async function trainingProgressStream(
  ctx: ApiContext,
  runId: string,
  sinceStep: number,
): Promise<AsyncIterableIterator<TrainingProgressEvent | Error>> {
  const wakeUps = ctx.events.subscribe('training_run', runId);
  const select = { status: true, step: true, epoch: true, error: true } as const;

  let lastStep = sinceStep;
  let lastEpoch = -1;
  let lastStatus: RunStatus | null = null;

  async function read(): Promise<ReadResult<TrainingProgressEvent>> {
    // status first: once it reads terminal, every row the worker wrote before it is visible below
    const run = await ctx.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId }, select });
    const points = await ctx.prisma.lossPoint.findMany({
      where: { runId, step: { gt: lastStep } },
      orderBy: { step: 'asc' },
      take: PAGE,
    });
    const more = points.length === PAGE;
    // with more batches still to read, only summaries up to the last batch read (they follow it)
    const step = more ? { gt: sinceStep, lte: points[points.length - 1]!.step } : { gt: sinceStep };
    const summaries = await ctx.prisma.epochSummary.findMany({
      where: { runId, step, epoch: { gt: lastEpoch } },
      orderBy: { epoch: 'asc' },
    });
    // a batch before the epoch summary that ends on the same step
    const rows = [
      ...points.map((p) => ({ step: p.step, rank: 0, event: batchEvent(p, run.status) })),
      ...summaries.map((s) => ({ step: s.step, rank: 1, event: epochEvent(s, run.status) })),
    ].sort((a, b) => a.step - b.step || a.rank - b.rank);
    const events = rows.map((r) => r.event);
    if (points.length > 0) lastStep = points[points.length - 1]!.step;
    if (summaries.length > 0) lastEpoch = summaries[summaries.length - 1]!.epoch;

    const terminal = isTerminalRun(run.status);
    if (run.status !== lastStatus && !(terminal && more)) {
      // a live status leads the rows read with it; a terminal one closes the stream
      if (terminal) events.push(statusEvent(run));
      else events.unshift(statusEvent(run));
      lastStatus = run.status;
    }
    return { events, more, done: terminal && !more };
  }

  return openStream(
    wakeUps,
    async () => (await ctx.prisma.trainingRun.count({ where: { id: runId } })) > 0,
    () => new NotFoundError('TrainingRun', runId),
    read,
  );
}
