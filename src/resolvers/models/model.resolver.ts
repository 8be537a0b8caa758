import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { deleteUnreferenced } from '../../storage/index.ts';
import { modelExportZipPath, modelWebPath, servedOnDevice } from '../../storage/model-web.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { ConflictError } from '../shared/api-errors.ts';
import { checkOwner } from '../shared/auth.ts';
import { DeleteMutation, lockForDelete, refuseWhileUsed, removeDataFolder } from '../shared/deletion.ts';
import { CaptionStatus } from '../shared/enums.ts';
import { loadDatasetVocabulary } from './model.batch.ts';
import { checkModelName, findModel, toModel } from './model.mapper.ts';
import { loadAliasesOfModel } from './model-registry.batch.ts';
import { aliasesOf } from '../../registry/aliases.ts';
import { MAX_MODEL_NAME } from '../../registry/model-ref.ts';
import { Model, ModelConnection, ModelWebFiles } from './model.type.ts';
import { loadRunRow } from '../training/training-run.batch.ts';
import { toTrainingRun } from '../training/training-run.mapper.ts';
import { TrainingRun } from '../training/training-run.type.ts';
import { connection, DEFAULT_PAGE, MAX_NAME_FILTER, MAX_PAGE, NEWEST_FIRST, nameContains } from '../shared/pagination.ts';

const ACTIVE_CAPTION_STATUSES: readonly CaptionStatus[] = [CaptionStatus.QUEUED, CaptionStatus.RUNNING];

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
    @Arg('name', () => String, {
      nullable: true,
      description: 'only the versions of this exact name (newest first, so the latest version leads); combines with nameContains',
    })
    exactName?: string | null,
  ): Promise<ModelConnection> {
    const where = {
      AND: [
        nameContains('nameContains', name),
        exactName == null ? {} : { name: checkModelName('name', exactName) },
        datasetId ? { run: { is: { datasetId } } } : {},
      ],
    };
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
    description: `Move a model to another name, where it becomes that name's next version (its old version number is not reused). The name: 1 to ${MAX_MODEL_NAME} characters after trimming, no control characters; the same name is a no-op. NOT_FOUND: no such model; BAD_USER_INPUT: an empty, too long or unprintable name; CONFLICT: an alias points at it (move or delete the alias first); FORBIDDEN: another key's model (admin may rename any)`,
  })
  async renameModel(@Arg('id', () => ID) id: string, @Arg('name', () => String) name: string, @Ctx() ctx: ApiContext): Promise<Model> {
    const trimmed = checkModelName('name', name);
    await ctx.prisma.$transaction(async (tx) => {
      // locked: a setModelAlias on this version waits, then no longer finds it under the old name
      const model = await lockForDelete<{ name: string; createdByKey: string | null }>(tx, 'Model', id, ['name', 'createdByKey']);
      checkOwner(ctx, model.createdByKey, `model ${id}`, 'renaming');
      if (model.name === trimmed) return;
      const aliases = await aliasesOf(tx, id);
      if (aliases.length > 0)
        throw new ConflictError(`model ${id} is ${aliases.join(', ')}: move or delete the alias before renaming it`, {
          field: 'id',
          aliases,
        });
      // the trigger model_version gives it the next version of the new name
      await tx.model.update({ where: { id }, data: { name: trimmed } });
    });
    return findModel(ctx, id);
  }

  @DeleteMutation(
    'Delete a model (a version) with its caption requests and its artifact folder. NOT_FOUND: no such model; CONFLICT: it has QUEUED or RUNNING caption requests or bulk caption jobs (its ended bulk jobs go with it), or an alias points at it (extensions.aliases names them: move or delete them first)',
  )
  async deleteModel(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    const path = await ctx.prisma.$transaction(async (tx) => {
      // a concurrent requestCaption's insert waits for this transaction
      const model = await lockForDelete<{
        path: string | null;
        blobId: string | null;
        backboneBlobId: string | null;
        createdByKey: string | null;
      }>(tx, 'Model', id, ['path', 'blobId', 'backboneBlobId', 'createdByKey']);
      checkOwner(ctx, model.createdByKey, `model ${id}`, 'deleting');
      // a setModelAlias on it holds the row FOR SHARE until it commits: its alias is seen here
      const aliases = await aliasesOf(tx, id);
      if (aliases.length > 0)
        throw new ConflictError(`model ${id} is ${aliases.join(', ')}: move or delete the alias before deleting it`, {
          field: 'id',
          aliases,
        });
      refuseWhileUsed(
        await tx.captionRequest.count({ where: { modelId: id, status: { in: [...ACTIVE_CAPTION_STATUSES] } } }),
        'activeCaptionRequests',
        (active) => `model ${id} has ${active} queued or running caption request(s): wait for them to finish`,
      );
      refuseWhileUsed(
        await tx.bulkCaptionJob.count({ where: { modelId: id, status: { in: ['QUEUED', 'RUNNING'] } } }),
        'activeBulkCaptionJobs',
        (active) => `model ${id} has ${active} queued or running bulk caption job(s): cancel them or wait for them to finish`,
      );
      await tx.captionRequest.deleteMany({ where: { modelId: id } });
      await tx.model.delete({ where: { id } });
      await deleteUnreferenced(tx, [model.blobId, model.backboneBlobId]);
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

  @FieldResolver(() => [String], { description: 'the aliases of its name that point at this version (e.g. ["production"])' })
  async aliases(@Root() model: Model, @Ctx() ctx: ApiContext): Promise<string[]> {
    return (await loadAliasesOfModel(ctx, model.id)).map((a) => a.alias);
  }

  @FieldResolver(() => TrainingRun, { nullable: true })
  async run(@Root() model: Model, @Ctx() ctx: ApiContext): Promise<TrainingRun | null> {
    const row = model.runId === null ? null : await loadRunRow(ctx, model.runId);
    return row && toTrainingRun(row);
  }

  @FieldResolver(() => ModelWebFiles, {
    nullable: true,
    description:
      'its files for captioning on the user\'s device (the dashboard\'s "on this device", glimpse model export --web); null for a model from before the artifact store, or one with a pretrained backbone saved before backbones were stored with models',
  })
  webFiles(@Root() model: Model): ModelWebFiles | null {
    const row = { blobId: model.blobId ?? null, backboneBlobId: model.backboneBlobId ?? null, config: model.config };
    return servedOnDevice(row)
      ? { modelJson: modelWebPath(model.id, row.blobId), exportZip: modelExportZipPath(model.id, row.blobId) }
      : null;
  }
}
