// evaluateModel, cancelEvaluation, evaluation, evaluationsConnection and the evaluationProgress subscription.
// The worker does the captioning (src/jobs/evaluate.job.ts); every status write is src/runs/evaluation-state.ts's.
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { DatasetStatus, DecodeMethod } from '../../db/client.ts';
import { CAPTION_SETTINGS } from '../../ml/settings/index.ts';
import { cancelEvaluation, createEvaluation } from '../../runs/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError, ConflictError, NotFoundError } from '../shared/api-errors.ts';
import { checkOwner } from '../shared/auth.ts';
import { JobPriority } from '../shared/enums.ts';
import { findModelByIdOrRef } from '../models/model.mapper.ts';
import { datasetOf } from '../datasets/dataset.batch.ts';
import { Dataset } from '../datasets/dataset.type.ts';
import { connection, DEFAULT_PAGE, MAX_PAGE, NEWEST_FIRST } from '../shared/pagination.ts';
import { settingsFrom } from '../shared/setting-field.ts';
import { checkRange } from '../shared/validate.ts';
import { EvaluateModelInput, MAX_EVALUATION_IMAGES } from './evaluation.input.ts';
import { toEvaluation } from './evaluation.mapper.ts';
import { evaluationProgressStream } from './evaluation.stream.ts';
import { Evaluation, EvaluationConnection } from './evaluation.type.ts';

async function findEvaluation(ctx: ApiContext, id: string): Promise<Evaluation> {
  const row = await ctx.prisma.evaluation.findUnique({ where: { id } });
  if (row === null) throw new NotFoundError('Evaluation', id);
  return toEvaluation(row);
}

/** the input's own checks, before any row is read: BAD_USER_INPUT naming the field */
function checkInput(input: EvaluateModelInput): { beamWidth: number; maxImages: number | null } {
  if (input.method === DecodeMethod.SAMPLE)
    throw new BadUserInputError('input.method', 'GREEDY or BEAM: sampling would score a random caption');
  const { beamWidth } = settingsFrom(CAPTION_SETTINGS, { beamWidth: input.beamWidth }, 'input');
  const maxImages = input.maxImages ?? null;
  if (maxImages !== null) checkRange('input.maxImages', maxImages, 1, MAX_EVALUATION_IMAGES);
  return { beamWidth, maxImages };
}

@Resolver(() => Evaluation)
export class EvaluationResolver {
  @Mutation(() => Evaluation, {
    description:
      'Queue an evaluation of a model on a split of a READY dataset; follow it with evaluationProgress. BAD_USER_INPUT: a bad beamWidth or ' +
      'maxImages, SAMPLE, or a dataset that is not READY; NOT_FOUND: no such model or dataset. A model whose vocabulary knows under half of ' +
      "the dataset's caption words ends FAILED (VOCABULARY_INCOMPATIBLE)",
  })
  async evaluateModel(@Arg('input', () => EvaluateModelInput) input: EvaluateModelInput, @Ctx() ctx: ApiContext): Promise<Evaluation> {
    const { beamWidth, maxImages } = checkInput(input);
    const model = await findModelByIdOrRef(ctx, 'input.modelId', input.modelId);
    const dataset = await ctx.prisma.dataset.findUnique({ where: { id: input.datasetId }, select: { id: true, status: true } });
    if (dataset === null) throw new NotFoundError('Dataset', input.datasetId);
    if (dataset.status !== DatasetStatus.READY) {
      throw new BadUserInputError('input.datasetId', `dataset ${dataset.id} is ${dataset.status}: an evaluation needs a READY dataset`);
    }
    const row = await ctx.prisma.$transaction((tx) =>
      createEvaluation(tx, ctx.queue, {
        modelId: model.id,
        datasetId: dataset.id,
        split: input.split,
        method: input.method,
        beamWidth,
        maxImages,
        priority: input.priority ?? JobPriority.NORMAL,
        createdByKey: ctx.caller.keyName,
      }),
    );
    return toEvaluation(row);
  }

  @Mutation(() => Evaluation, {
    description:
      'QUEUED → CANCELLED at once; RUNNING → cancel requested, its worker stops after the batch it decodes. NOT_FOUND: no such evaluation; CONFLICT: it has ended',
  })
  async cancelEvaluation(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<Evaluation> {
    const before = await findEvaluation(ctx, id);
    checkOwner(ctx, before.createdByKey, `evaluation ${id}`, 'cancelling');
    const applied = await cancelEvaluation(ctx.prisma, id);
    const now = await findEvaluation(ctx, id);
    if (!applied) {
      throw new ConflictError(`evaluation ${id} is ${now.status}: only QUEUED or RUNNING evaluations can be cancelled`, {
        status: now.status,
      });
    }
    return now;
  }

  @Query(() => Evaluation, { description: 'NOT_FOUND for an unknown id' })
  evaluation(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<Evaluation> {
    return findEvaluation(ctx, id);
  }

  @Query(() => EvaluationConnection, { description: 'evaluations, newest first, cursor-paginated; filters combine' })
  evaluationsConnection(
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
    @Arg('modelId', () => ID, { nullable: true, description: 'only the evaluations of this model' }) modelId?: string | null,
    @Arg('datasetId', () => ID, { nullable: true, description: 'only the evaluations on this dataset' }) datasetId?: string | null,
  ): Promise<EvaluationConnection> {
    const where = { ...(modelId ? { modelId } : {}), ...(datasetId ? { datasetId } : {}) };
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.evaluation.findMany({ where: { AND: [where, start] }, orderBy: NEWEST_FIRST, take }),
      () => ctx.prisma.evaluation.count({ where }),
      toEvaluation,
    );
  }

  @Subscription(() => Evaluation, {
    description:
      'The evaluation now, then on every change (status, done/total, the scores at the end); completes after SUCCEEDED, FAILED or CANCELLED. NOT_FOUND for an unknown id',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, ApiContext>) =>
      evaluationProgressStream(context, args.id),
  })
  evaluationProgress(@Root() event: Evaluation | Error, @Arg('id', () => ID) _id: string): Evaluation {
    if (event instanceof Error) throw event;
    return event;
  }

  @FieldResolver(() => Dataset)
  dataset(@Root() evaluation: Evaluation, @Ctx() ctx: ApiContext): Promise<Dataset> {
    return datasetOf(ctx, evaluation.datasetId);
  }
}
