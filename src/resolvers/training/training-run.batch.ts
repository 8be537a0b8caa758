// A run's rows read for a whole page of parents at once: the runs of a page of models, the epochs and
// checkpoints of a page of runs (src/resolvers/shared/batch.ts).
import type { Checkpoint as CheckpointRow, EpochSummary as EpochRow } from '../../db/client.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { type BatchQuery, byKey, groupedBy, load } from '../shared/batch.ts';
import { toTrainingRun } from './training-run.mapper.ts';
import type { TrainingRun } from './training-run.type.ts';

const runsById: BatchQuery<string, TrainingRun> = async (ctx, ids) =>
  byKey((await ctx.prisma.trainingRun.findMany({ where: { id: { in: [...ids] } } })).map(toTrainingRun), (r) => r.id);

const epochsByRun: BatchQuery<string, EpochRow[]> = async (ctx, runIds) =>
  groupedBy(
    await ctx.prisma.epochSummary.findMany({ where: { runId: { in: [...runIds] } }, orderBy: [{ runId: 'asc' }, { epoch: 'asc' }] }),
    (e) => e.runId,
  );

const checkpointsByRun: BatchQuery<string, CheckpointRow[]> = async (ctx, runIds) =>
  groupedBy(
    await ctx.prisma.checkpoint.findMany({ where: { runId: { in: [...runIds] } }, orderBy: [{ runId: 'asc' }, { step: 'asc' }] }),
    (c) => c.runId,
  );

/** the run `id` (batched with the request's other run loads), or null */
export function loadRun(ctx: ApiContext, id: string): Promise<TrainingRun | null> {
  return load(ctx, runsById, id);
}

/** the run's epoch summaries in epoch order (batched) */
export async function loadEpochs(ctx: ApiContext, runId: string): Promise<EpochRow[]> {
  return (await load(ctx, epochsByRun, runId)) ?? [];
}

/** the run's checkpoints in step order (batched) */
export async function loadCheckpoints(ctx: ApiContext, runId: string): Promise<CheckpointRow[]> {
  return (await load(ctx, checkpointsByRun, runId)) ?? [];
}
