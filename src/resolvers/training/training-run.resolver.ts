import { join } from 'node:path';
import { Arg, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DatasetStatus, RunStatus } from '../../db/client.ts';
import { cancelRun, createRun, deleteRun, fromStatuses, resumeRun } from '../../runs/index.ts';
import { deleteUnreferenced } from '../../storage/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { datasetOf } from '../datasets/dataset.batch.ts';
import { findDataset } from '../datasets/dataset.resolver.ts';
import { Dataset } from '../datasets/dataset.type.ts';
import { ConflictError, NotFoundError } from '../shared/api-errors.ts';
import { checkOwner } from '../shared/auth.ts';
import { lossCurve } from './loss-curve.ts';
import { loadModelById, loadModelOfRun } from '../models/model.batch.ts';
import { Model } from '../models/model.type.ts';
import { connection, DEFAULT_PAGE, MAX_PAGE, NEWEST_FIRST } from '../shared/pagination.ts';
import { Checkpoint, EpochSummary, LossPoint } from './training-history.type.ts';
import { admitTraining } from './training-admission.ts';
import { runTiming } from './training-estimates.ts';
import { loadCheckpoints, loadEpochs } from './training-run.batch.ts';
import { estimateTotalSteps } from '../../ml/settings/index.ts';
import { resolveTrainingConfig, settingValuesOf, StartTrainingInput } from './training-run.input.ts';
import { toTrainingRun } from './training-run.mapper.ts';
import { withParentModel } from './training-warm-start.ts';
import { TrainingRun, TrainingRunConnection } from './training-run.type.ts';
import { checkBackboneSource, checkRange } from '../shared/validate.ts';
import { DeleteMutation, removeDataFolder } from '../shared/deletion.ts';
import { checkModelName } from '../models/model.mapper.ts';
import { JobPriority, TERMINAL_RUN_STATUSES } from '../shared/enums.ts';

const MAX_CURVE_POINTS = 10_000;

async function findRun(ctx: ApiContext, id: string): Promise<TrainingRun> {
  const row = await ctx.prisma.trainingRun.findUnique({ where: { id } });
  if (row === null) throw new NotFoundError('TrainingRun', id);
  return toTrainingRun(row);
}

/** NOT_FOUND, or FORBIDDEN when the run is another key's and the caller is no admin (the owner never changes). */
async function checkRunOwner(ctx: ApiContext, id: string, action: string): Promise<void> {
  const row = await ctx.prisma.trainingRun.findUnique({ where: { id }, select: { createdByKey: true } });
  if (row === null) throw new NotFoundError('TrainingRun', id);
  checkOwner(ctx, row.createdByKey, `run ${id}`, action);
}

/** Applies a status change (src/runs), or refuses with the run as it is: "only runs in `from` can be `what`". */
async function transition(ctx: ApiContext, id: string, change: () => Promise<boolean>, from: string, what: string): Promise<TrainingRun> {
  if (what === 'cancelled' || what === 'resumed') await checkRunOwner(ctx, id, what === 'cancelled' ? 'cancelling' : 'resuming');
  await findRun(ctx, id);
  const applied = await change();
  const run = await findRun(ctx, id);
  if (!applied) throw new ConflictError(`run ${id} is ${run.status}: only ${from} runs can be ${what}`, { status: run.status });
  return run;
}

@Resolver(() => TrainingRun)
export class TrainingRunResolver {
  @Query(() => TrainingRunConnection, { description: 'training runs, newest first, cursor-paginated; filters combine' })
  trainingRuns(
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
    @Arg('status', () => RunStatus, { nullable: true }) status?: RunStatus | null,
    @Arg('datasetId', () => ID, { nullable: true, description: 'only the runs on this dataset' }) datasetId?: string | null,
  ): Promise<TrainingRunConnection> {
    const where = { ...(status ? { status } : {}), ...(datasetId ? { datasetId } : {}) };
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.trainingRun.findMany({ where: { AND: [where, start] }, orderBy: NEWEST_FIRST, take }),
      () => ctx.prisma.trainingRun.count({ where }),
      toTrainingRun,
    );
  }

  @Query(() => TrainingRun, { description: 'NOT_FOUND for an unknown id' })
  trainingRun(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<TrainingRun> {
    return findRun(ctx, id);
  }

  @Mutation(() => TrainingRun, {
    description:
      'Queue a training run on a READY dataset, from random weights or from a model (initFrom) (NOT_FOUND: no such dataset or model, CONFLICT: not READY, BAD_USER_INPUT: a setting out of bounds or differing from the initFrom model)',
  })
  async startTraining(@Arg('input', () => StartTrainingInput) input: StartTrainingInput, @Ctx() ctx: ApiContext): Promise<TrainingRun> {
    // input errors first (BAD_USER_INPUT before NOT_FOUND); the defaults that follow the data come after
    const checked = resolveTrainingConfig(input, null);
    const modelName = input.modelName == null ? null : checkModelName('input.modelName', input.modelName);
    if (checked.backbone) await checkBackboneSource('input.encoder.backbone', checked.backbone, ctx.sources);
    const dataset = await findDataset(ctx, input.datasetId);
    // warm start: the model's architecture where the input leaves it out (NOT_FOUND, BAD_USER_INPUT on a conflict)
    const { values, parentModelId } = await withParentModel(ctx, input, settingValuesOf(input));
    resolveTrainingConfig(input, dataset, values);
    if (dataset.status !== DatasetStatus.READY) {
      throw new ConflictError(`dataset ${dataset.id} is ${dataset.status}, training needs a READY dataset`, {
        field: 'input.datasetId',
        status: dataset.status,
      });
    }
    // the automatic settings the worker's memory budget admits; what was shrunk is in the config's notes
    const { run, notes } = admitTraining(values, dataset, ctx.limits.maxTrainingMemory);
    // an estimate from the dataset's counts; the worker stores the exact figure when it starts
    const totalSteps = estimateTotalSteps(run, dataset);
    const row = await ctx.prisma.$transaction((tx) =>
      createRun(tx, ctx.queue, {
        datasetId: dataset.id,
        config: { ...run, ...(notes.length > 0 ? { notes } : {}), ...(parentModelId ? { initFrom: parentModelId } : {}) },
        totalSteps,
        modelName,
        createdByKey: ctx.caller.keyName,
        parentModelId,
        priority: input.priority ?? JobPriority.NORMAL,
      }),
    );
    return toTrainingRun(row);
  }

  @Mutation(() => TrainingRun, {
    description: 'QUEUED → CANCELLED at once; RUNNING → cancelRequested, the worker stops at the next batch',
  })
  cancelTraining(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<TrainingRun> {
    return transition(ctx, id, () => cancelRun(ctx.prisma, id), fromStatuses('cancelQueued', 'requestCancel'), 'cancelled');
  }

  @Mutation(() => TrainingRun, {
    description:
      "Re-queue a FAILED or CANCELLED run; it continues from its last checkpoint. FORBIDDEN: another key's run (admin may resume any)",
  })
  resumeTraining(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<TrainingRun> {
    return transition(ctx, id, () => resumeRun(ctx.prisma, ctx.queue, id), fromStatuses('resume'), 'resumed');
  }

  @DeleteMutation(
    'Delete a SUCCEEDED, FAILED or CANCELLED training run with its loss points, epochs, checkpoints and checkpoint folder; its model is kept (model.run becomes null). NOT_FOUND: no such run; CONFLICT: QUEUED or RUNNING (cancel it first)',
  )
  async deleteTrainingRun(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    await checkRunOwner(ctx, id, 'deleting');
    await ctx.prisma.$transaction(async (tx) => {
      // the run is locked first: a concurrent resumeTraining / worker write waits for this transaction (src/runs)
      const run = await deleteRun(tx, id);
      if (!run.deleted && run.status === null) throw new NotFoundError('TrainingRun', id);
      if (!run.deleted) {
        throw new ConflictError(
          `run ${id} is ${run.status}: cancel it first (only ${TERMINAL_RUN_STATUSES.join(', ')} runs can be deleted)`,
          { field: 'id', status: run.status },
        );
      }
      // the checkpoints' blobs no other row shares go in the same transaction (src/storage)
      await deleteUnreferenced(tx, run.checkpointBlobIds);
    });
    // a checkpoint folder on this host: a run from before the artifact store (single-host installs)
    await removeDataFolder(ctx.paths.checkpoints, join(ctx.paths.checkpoints, id), ctx.log, `checkpoints of run ${id}`);
    return id;
  }

  @FieldResolver(() => Dataset)
  dataset(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<Dataset> {
    return datasetOf(ctx, run.datasetId);
  }

  @FieldResolver(() => [LossPoint], {
    description:
      `losses after sinceStep in step order; when more than maxPoints (≤ ${MAX_CURVE_POINTS}) steps exist, at most maxPoints real ` +
      'points: the first, the last, and the lowest and highest of each of (maxPoints − 2) / 2 equal slices of steps (spikes stay)',
  })
  lossCurve(
    @Root() run: TrainingRun,
    @Ctx() ctx: ApiContext,
    @Arg('sinceStep', () => Int, { defaultValue: 0 }) sinceStep: number,
    @Arg('maxPoints', () => Int, { defaultValue: 1000 }) maxPoints: number,
  ): Promise<LossPoint[]> {
    checkRange('maxPoints', maxPoints, 1, MAX_CURVE_POINTS);
    return lossCurve(ctx.prisma, run.id, sinceStep, maxPoints);
  }

  @FieldResolver(() => [EpochSummary], { description: 'one summary per finished epoch (validation loss, BLEU-4)' })
  epochs(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<EpochSummary[]> {
    return loadEpochs(ctx, run.id);
  }

  @FieldResolver(() => [Checkpoint])
  checkpoints(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<Checkpoint[]> {
    return loadCheckpoints(ctx, run.id);
  }

  @FieldResolver(() => Float, {
    nullable: true,
    description: 'recent speed: steps per second over the last 20 batches (null before 2 batches)',
  })
  async stepsPerSecond(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<number | null> {
    return (await runTiming(ctx, run)).stepsPerSecond;
  }

  @FieldResolver(() => Float, { nullable: true, description: 'RUNNING: seconds left at the recent speed; SUCCEEDED: 0; otherwise null' })
  async etaSeconds(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<number | null> {
    return (await runTiming(ctx, run)).etaSeconds;
  }

  @FieldResolver(() => Float, { nullable: true, description: 'seconds since the run started (until it finished); null while QUEUED' })
  async elapsedSeconds(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<number | null> {
    return (await runTiming(ctx, run)).elapsedSeconds;
  }

  @FieldResolver(() => Model, { nullable: true, description: 'the model, once the run SUCCEEDED' })
  model(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<Model | null> {
    return loadModelOfRun(ctx, run.id);
  }

  @FieldResolver(() => Model, {
    nullable: true,
    description:
      'warm start: the model whose weights the run started from (initFrom); null: random weights, or that model was deleted since',
  })
  parentModel(@Root() run: TrainingRun, @Ctx() ctx: ApiContext): Promise<Model | null> {
    return run.parentModelId ? loadModelById(ctx, run.parentModelId) : Promise.resolve(null);
  }
}
