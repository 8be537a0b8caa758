import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { deleteUnreferenced } from '../../storage/index.ts';
import { modelExportZipPath, modelWebPath, servedOnDevice } from '../../storage/model-web.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError, NotFoundError } from '../shared/api-errors.ts';
import { checkOwner } from '../shared/auth.ts';
import { DeleteMutation, lockForDelete, refuseWhileUsed, removeDataFolder } from '../shared/deletion.ts';
import { CaptionStatus } from '../shared/enums.ts';
import { loadDatasetVocabulary } from './model.batch.ts';
import { findModel, toModel } from './model.mapper.ts';
import { Model, ModelConnection, ModelWebFiles } from './model.type.ts';
import { loadRunRow } from '../training/training-run.batch.ts';
import { toTrainingRun } from '../training/training-run.mapper.ts';
import { TrainingRun } from '../training/training-run.type.ts';
import { connection, DEFAULT_PAGE, MAX_NAME_FILTER, MAX_PAGE, NEWEST_FIRST, nameContains } from '../shared/pagination.ts';

export const MAX_MODEL_NAME = 100;

const ACTIVE_CAPTION_STATUSES: readonly CaptionStatus[] = [CaptionStatus.QUEUED, CaptionStatus.RUNNING];

/** the trimmed name, or BAD_USER_INPUT naming the argument */
export function checkModelName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new BadUserInputError('name', 'must not be empty');
  if ([...trimmed].length > MAX_MODEL_NAME) throw new BadUserInputError('name', `must be at most ${MAX_MODEL_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(trimmed))
    throw new BadUserInputError('name', 'must not contain control characters or line breaks');
  return trimmed;
}

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], {
    description: 'all models, newest first',
    deprecationReason: 'every model in one answer, however many there are: use modelsConnection, which pages and filters',
  })
  async models(@Ctx() ctx: ApiContext): Promise<Model[]> {
    const rows = await ctx.prisma.model.findMany({ orderBy: NEWEST_FIRST });
    return rows.map(toModel);
  }

  @Query(() => ModelConnection, { description: 'models, newest first, cursor-paginated; filters combine' })
  modelsConnection(
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
    @Arg('nameContains', () => String, {
      nullable: true,
      description: `only models whose name contains this text, ignoring case (at most ${MAX_NAME_FILTER} characters; blank: all)`,
    })
    name?: string | null,
    @Arg('datasetId', () => ID, { nullable: true, description: 'only models trained on this dataset' }) datasetId?: string | null,
  ): Promise<ModelConnection> {
    const where = { ...nameContains('nameContains', name), ...(datasetId ? { run: { is: { datasetId } } } : {}) };
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.model.findMany({ where: { AND: [where, start] }, orderBy: NEWEST_FIRST, take }),
      () => ctx.prisma.model.count({ where }),
      toModel,
    );
  }

  @Query(() => Model, { description: 'NOT_FOUND for an unknown id' })
  model(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<Model> {
    return findModel(ctx, id);
  }

  @Mutation(() => Model, {
    description: `Rename a model: 1 to ${MAX_MODEL_NAME} characters after trimming, no control characters. NOT_FOUND: no such model; BAD_USER_INPUT: an empty, too long or unprintable name`,
  })
  async renameModel(@Arg('id', () => ID) id: string, @Arg('name', () => String) name: string, @Ctx() ctx: ApiContext): Promise<Model> {
    const trimmed = checkModelName(name);
    const { count } = await ctx.prisma.model.updateMany({ where: { id }, data: { name: trimmed } });
    if (count === 0) throw new NotFoundError('Model', id);
    return findModel(ctx, id);
  }

  @DeleteMutation(
    'Delete a model with its caption requests and its artifact folder. NOT_FOUND: no such model; CONFLICT: it has QUEUED or RUNNING caption requests',
  )
  async deleteModel(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    const path = await ctx.prisma.$transaction(async (tx) => {
      // a concurrent requestCaption's insert waits for this transaction
      const model = await lockForDelete<{ path: string | null; blobId: string | null; createdByKey: string | null }>(tx, 'Model', id, [
        'path',
        'blobId',
        'createdByKey',
      ]);
      checkOwner(ctx, model.createdByKey, `model ${id}`, 'deleting');
      refuseWhileUsed(
        await tx.captionRequest.count({ where: { modelId: id, status: { in: [...ACTIVE_CAPTION_STATUSES] } } }),
        'activeCaptionRequests',
        (active) => `model ${id} has ${active} queued or running caption request(s): wait for them to finish`,
      );
      await tx.captionRequest.deleteMany({ where: { modelId: id } });
      await tx.model.delete({ where: { id } });
      await deleteUnreferenced(tx, [model.blobId]);
      return model.path;
    });
    // a folder only for a model from before the artifact store
    if (path !== null) await removeDataFolder(ctx.paths.models, path, ctx.log, `artifacts of model ${id}`);
    return id;
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description:
      "distinct words in the captions of the dataset the model was trained on (null when its run or dataset is gone, or the set predates the count); compare vocabSize, the model's own vocabulary",
  })
  datasetVocabularyWords(@Root() model: Model, @Ctx() ctx: ApiContext): Promise<number | null> {
    // one batched read for a whole page of models
    return model.runId === null ? Promise.resolve(null) : loadDatasetVocabulary(ctx, model.runId);
  }

  @FieldResolver(() => TrainingRun, { nullable: true })
  async run(@Root() model: Model, @Ctx() ctx: ApiContext): Promise<TrainingRun | null> {
    const row = model.runId === null ? null : await loadRunRow(ctx, model.runId);
    return row && toTrainingRun(row);
  }

  @FieldResolver(() => ModelWebFiles, {
    nullable: true,
    description:
      'its files for captioning on the user\'s device (the dashboard\'s "on this device", glimpse model export --web); null for a model with a pretrained backbone (not yet available in the browser) or one from before the artifact store',
  })
  webFiles(@Root() model: Model): ModelWebFiles | null {
    const row = { blobId: model.blobId ?? null, config: model.config };
    return servedOnDevice(row)
      ? { modelJson: modelWebPath(model.id, row.blobId), exportZip: modelExportZipPath(model.id, row.blobId) }
      : null;
  }
}
