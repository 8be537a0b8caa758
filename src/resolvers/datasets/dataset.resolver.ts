import { rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { DatasetKind, DatasetStatus, Prisma } from '../../db/client.ts';
import { commitBlob, deleteUnreferenced, discardBlob, type PendingBlob } from '../../storage/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { CocoDatasetInput, CreateDatasetInput, DATASET_NAME_MAX, SyntheticDatasetInput } from './dataset.input.ts';
import { storeUploadedDataset } from './dataset-upload.ts';
import { Dataset, DatasetConnection } from './dataset.type.ts';
import { BadUserInputError, ConflictError, NotFoundError } from '../shared/api-errors.ts';
import { checkName, checkRange, checkServerPath, exactlyOne } from '../shared/validate.ts';
import { checkOwner } from '../shared/auth.ts';
import { DeleteMutation, isInside, lockForDelete, refuseWhileUsed, removeDataFolder } from '../shared/deletion.ts';
import { connection, DEFAULT_PAGE, MAX_NAME_FILTER, MAX_PAGE, NEWEST_FIRST, nameContains } from '../shared/pagination.ts';

/**
 * A server path under the dataset roots (realpath, symlinks resolved: BAD_USER_INPUT naming the
 * roots otherwise), then of the right kind. Nothing outside the roots is looked at, so the answers
 * map no other part of the disk.
 */
async function checkPath(field: string, path: string, kind: 'file' | 'directory', roots: readonly string[]): Promise<string> {
  const real = await checkServerPath(field, path, roots);
  const info = await stat(real).catch(() => null);
  if (info === null) throw new BadUserInputError(field, `${path} does not exist`);
  if (kind === 'file' ? !info.isFile() : !info.isDirectory()) throw new BadUserInputError(field, `${path} is not a ${kind}`);
  return resolve(path);
}

function syntheticRow(input: SyntheticDatasetInput, maxImages: number) {
  if (!(Number.isInteger(input.images) && input.images >= 1 && input.images <= maxImages)) {
    throw new BadUserInputError(
      'input.synthetic.images',
      `must be between 1 and ${maxImages} (GLIMPSE_MAX_SYNTHETIC_IMAGES), got ${input.images}`,
    );
  }
  return { kind: DatasetKind.SYNTHETIC, syntheticImages: input.images, syntheticSeed: input.seed ?? 1 };
}

async function cocoRow(input: CocoDatasetInput, roots: readonly string[]) {
  if (input.maxCaptions != null) checkRange('input.coco.maxCaptions', input.maxCaptions, 1, Number.MAX_SAFE_INTEGER);
  return {
    kind: DatasetKind.COCO,
    annotationsPath: await checkPath('input.coco.annotationsPath', input.annotationsPath, 'file', roots),
    imagesDir: await checkPath('input.coco.imagesDir', input.imagesDir, 'directory', roots),
    maxCaptions: input.maxCaptions ?? null,
  };
}

interface DeletedDataset {
  kind: DatasetKind;
  annotationsPath: string | null;
  imagesDir: string | null;
  blobId: string | null;
}

/** After the commit: what Glimpse wrote for the set on this host, and nothing of the user's. */
async function removeDatasetFolders(ctx: ApiContext, id: string, deleted: DeletedDataset): Promise<void> {
  const folder = join(ctx.paths.datasets, id);
  if (deleted.kind === DatasetKind.SYNTHETIC) {
    // a stored set's blob went with the row; the folder is that of a PENDING set being generated on
    // this host, or of a set from before the artifact store
    await removeDataFolder(ctx.paths.datasets, folder, ctx.log, `synthetic dataset ${id}`);
    return;
  }
  // a COCO set's files are the user's, at paths they gave, and stay; what the worker wrote for
  // it (the backbone feature cache under datasets/<id>/features) goes, unless the user's files
  // are somehow inside that folder
  const features = join(folder, 'features');
  const users = [deleted.annotationsPath, deleted.imagesDir].filter((p): p is string => p !== null);
  if (users.some((p) => resolve(p) === resolve(features) || isInside(features, p))) {
    ctx.log.warn({ folder: resolve(features) }, 'keeping a COCO dataset folder that holds the user’s files');
  } else if (await removeDataFolder(ctx.paths.datasets, features, ctx.log, `feature cache of dataset ${id}`)) {
    await rmdir(folder).catch(() => {}); // only when nothing else is in it
  }
}

export async function findDataset(ctx: ApiContext, id: string): Promise<Dataset> {
  const dataset = await ctx.prisma.dataset.findUnique({ where: { id } });
  if (dataset === null) throw new NotFoundError('Dataset', id);
  return dataset;
}

@Resolver(() => Dataset)
export class DatasetResolver {
  @Query(() => [Dataset], {
    description: 'all datasets, oldest first',
    deprecationReason: 'every dataset in one answer, however many there are: use datasetsConnection, which pages and filters',
  })
  datasets(@Ctx() ctx: ApiContext): Promise<Dataset[]> {
    return ctx.prisma.dataset.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  @Query(() => DatasetConnection, { description: 'datasets, newest first, cursor-paginated; filters combine' })
  datasetsConnection(
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
    @Arg('nameContains', () => String, {
      nullable: true,
      description: `only datasets whose name contains this text, ignoring case (at most ${MAX_NAME_FILTER} characters; blank: all)`,
    })
    name?: string | null,
    @Arg('status', () => DatasetStatus, { nullable: true, description: 'e.g. READY: the sets a run can train on' })
    status?: DatasetStatus | null,
    @Arg('kind', () => DatasetKind, { nullable: true }) kind?: DatasetKind | null,
  ): Promise<DatasetConnection> {
    const where = { ...nameContains('nameContains', name), ...(status ? { status } : {}), ...(kind ? { kind } : {}) };
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.dataset.findMany({ where: { AND: [where, start] }, orderBy: NEWEST_FIRST, take }),
      () => ctx.prisma.dataset.count({ where }),
      (row) => row,
    );
  }

  @Query(() => Dataset, { description: 'NOT_FOUND for an unknown id' })
  dataset(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<Dataset> {
    return findDataset(ctx, id);
  }

  @Mutation(() => Dataset, {
    description:
      'Register a dataset. Synthetic sets are generated by a worker, COCO sets and uploaded archives indexed by one; all start PENDING. COCO paths must lie under the dataset roots (GLIMPSE_DATASET_ROOTS); an archive (multipart upload) is checked first (BAD_USER_INPUT with the reason, nothing stored) and stored in the database.',
  })
  async createDataset(@Arg('input', () => CreateDatasetInput) input: CreateDatasetInput, @Ctx() ctx: ApiContext): Promise<Dataset> {
    const name = checkName('input.name', input.name, DATASET_NAME_MAX);
    const source = exactlyOne('input', { synthetic: input.synthetic, coco: input.coco, archive: input.archive });
    const conflict = () => new ConflictError(`a dataset named "${name}" already exists`, { field: 'input.name' });
    let pending: PendingBlob | undefined;
    let row: Omit<Prisma.DatasetUncheckedCreateInput, 'name'>;
    if (source === 'synthetic') row = syntheticRow(input.synthetic!, ctx.limits.maxSyntheticImages);
    else if (source === 'coco') row = await cocoRow(input.coco!, ctx.sources.datasetRoots);
    else {
      // before reading the upload: a taken name is refused without unpacking anything
      if (await ctx.prisma.dataset.findUnique({ where: { name }, select: { id: true } })) throw conflict();
      const stored = await storeUploadedDataset(ctx, input.archive!);
      pending = stored.pending;
      row = { kind: DatasetKind.COCO, imageCount: stored.imageCount, captionCount: stored.captionCount };
    }
    try {
      return await ctx.prisma.$transaction(async (tx) => {
        // an uploaded set: its blob becomes visible with the row; a worker indexes it from the store
        const blobId = pending ? await commitBlob(tx, pending) : undefined;
        const dataset = await tx.dataset.create({
          data: { name, ...row, createdByKey: ctx.caller.keyName, ...(blobId ? { blobId } : {}) },
        });
        await ctx.queue.enqueueDataset(tx, {
          datasetId: dataset.id,
          ...(dataset.syntheticImages ? { images: dataset.syntheticImages } : {}),
        });
        return dataset;
      });
    } catch (error) {
      if (pending) await discardBlob(ctx.prisma, pending);
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw conflict();
      throw error;
    }
  }

  @DeleteMutation(
    "Delete a dataset that no training run uses; a SYNTHETIC set's generated folder goes with it (a COCO set's files are never touched, only the feature cache Glimpse wrote for it). A PENDING set is cancelled: the worker generating or indexing it stops at its next progress write and removes what it wrote. NOT_FOUND: no such dataset; CONFLICT: training runs still use it (delete them first), or a QUEUED or RUNNING bulk caption job (its ended bulk jobs go with it)",
  )
  async deleteDataset(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    const deleted = await ctx.prisma.$transaction(async (tx) => {
      // a concurrent startTraining's insert waits for this transaction
      const dataset = await lockForDelete<DeletedDataset & { createdByKey: string | null }>(tx, 'Dataset', id, [
        'kind',
        'annotationsPath',
        'imagesDir',
        'blobId',
        'createdByKey',
      ]);
      checkOwner(ctx, dataset.createdByKey, `dataset ${id}`, 'deleting');
      // PENDING: deleting the row is the cancellation; the dataset job notices it (src/jobs/dataset.job.ts)
      refuseWhileUsed(
        await tx.trainingRun.count({ where: { datasetId: id } }),
        'runCount',
        (runs) => `dataset ${id} is used by ${runs} training run(s): delete those runs first`,
      );
      refuseWhileUsed(
        await tx.bulkCaptionJob.count({ where: { datasetId: id, status: { in: ['QUEUED', 'RUNNING'] } } }),
        'activeBulkCaptionJobs',
        (active) => `dataset ${id} is being captioned by ${active} bulk caption job(s): cancel them or wait for them to finish`,
      );
      await tx.dataset.delete({ where: { id } });
      await deleteUnreferenced(tx, [dataset.blobId]);
      return dataset;
    });
    await removeDatasetFolders(ctx, id, deleted);
    return id;
  }
}
