// A run's rows read for a whole page of parents at once: the runs of a page of models, the epochs and
// checkpoints of a page of runs (src/resolvers/shared/batch.ts).
import type { Checkpoint as CheckpointRow, EpochSummary as EpochRow, TrainingRun as RunRow } from '../../db/client.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { type BatchQuery, byKey, groupedBy, load } from '../shared/batch.ts';

const runsById: BatchQuery<string, RunRow> = async (ctx, ids) =>
  byKey(await ctx.prisma.trainingRun.findMany({ where: { id: { in: [...ids] } } }), (r) => r.id);

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

/**
 * The run `id` as stored (batched with the request's other run loads), or null. A row, not yet a
 * TrainingRun: reading its config (toTrainingRun) costs more than the query, and a caller that needs
 * only the dataset id skips it.
 */
export function loadRunRow(ctx: ApiContext, id: string): Promise<RunRow | null> {
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
