// Deleting what users accumulate: training runs, models and datasets. Each mutation locks its row,
// checks the state in the same transaction, deletes the rows, and only after the commit removes the
// row's folder under the data dir (config.paths). A folder that cannot be removed is logged, not an
// API error: the rows are gone either way.
// Artifacts in the store (checkpoints, models, generated sets: src/storage) are deleted with the rows,
// in the same transaction, when no other row references the same blob; workers' caches drop their
// copies lazily (LRU). Only rows from before the store have folders here to remove.
import { rm, rmdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { CaptionStatus, DatasetKind, DatasetStatus } from '../../db/client.ts';
import { log } from '../../log.ts';
import { deleteRun, TERMINAL_RUN_STATUSES } from '../../runs/index.ts';
import type { ApiContext } from './context.ts';
import { deleteUnreferenced } from '../../storage/index.ts';
import { ConflictError, NotFoundError } from './errors.ts';

const ACTIVE_CAPTION_STATUSES: readonly CaptionStatus[] = [CaptionStatus.QUEUED, CaptionStatus.RUNNING];

function warn(msg: string, fields: Record<string, unknown>): void {
  log.warn({ role: 'api', ...fields }, msg);
}

/** True when `target` lies strictly inside `root` (both resolved; the root itself does not count). */
export function isInside(root: string, target: string): boolean {
  const rel = relative(resolve(root), resolve(target));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Removes a row's folder, but only one inside `root`; anything else is refused and logged. Never
 * throws: called after the commit, when the rows are already gone.
 */
export async function removeDataFolder(root: string, folder: string, ctx: ApiContext, what: string): Promise<boolean> {
  if (!isInside(root, folder)) {
    warn('refusing to delete a folder outside its data root', {
      what,
      folder: resolve(folder),
      root: resolve(root),
      requestId: ctx.requestId,
    });
    return false;
  }
  try {
    await rm(resolve(folder), { recursive: true, force: true });
    return true;
  } catch (error) {
    warn('could not delete folder', { what, folder: resolve(folder), error: String(error), requestId: ctx.requestId });
    return false;
  }
}

@Resolver()
export class DeleteResolver {
  @Authorized()
  @Mutation(() => ID, {
    description:
      'Delete a SUCCEEDED, FAILED or CANCELLED training run with its loss points, epochs, checkpoints and checkpoint folder; its model is kept (model.run becomes null). NOT_FOUND: no such run; CONFLICT: QUEUED or RUNNING (cancel it first)',
  })
  async deleteTrainingRun(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
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
    await removeDataFolder(ctx.paths.checkpoints, join(ctx.paths.checkpoints, id), ctx, `checkpoints of run ${id}`);
    return id;
  }

  @Authorized()
  @Mutation(() => ID, {
    description:
      'Delete a model with its caption requests and its artifact folder. NOT_FOUND: no such model; CONFLICT: it has QUEUED or RUNNING caption requests',
  })
  async deleteModel(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    const path = await ctx.prisma.$transaction(async (tx) => {
      // FOR UPDATE: a concurrent requestCaption's insert waits for this transaction
      const [model] = await tx.$queryRaw<
        { path: string | null; blobId: string | null }[]
      >`SELECT "path", "blobId" FROM "Model" WHERE "id" = ${id} FOR UPDATE`;
      if (model === undefined) throw new NotFoundError('Model', id);
      const active = await tx.captionRequest.count({ where: { modelId: id, status: { in: [...ACTIVE_CAPTION_STATUSES] } } });
      if (active > 0) {
        throw new ConflictError(`model ${id} has ${active} queued or running caption request(s): wait for them to finish`, {
          field: 'id',
          activeCaptionRequests: active,
        });
      }
      await tx.captionRequest.deleteMany({ where: { modelId: id } });
      await tx.model.delete({ where: { id } });
      await deleteUnreferenced(tx, [model.blobId]);
      return model.path;
    });
    // a folder only for a model from before the artifact store
    if (path !== null) await removeDataFolder(ctx.paths.models, path, ctx, `artifacts of model ${id}`);
    return id;
  }

  @Authorized()
  @Mutation(() => ID, {
    description:
      "Delete a dataset that no training run uses; a SYNTHETIC set's generated folder goes with it (a COCO set's files are never touched, only the feature cache Glimpse wrote for it). A PENDING set is cancelled: the worker generating or indexing it stops at its next progress write and removes what it wrote. NOT_FOUND: no such dataset; CONFLICT: training runs still use it (delete them first)",
  })
  async deleteDataset(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    const deleted = await ctx.prisma.$transaction(async (tx) => {
      // FOR UPDATE: a concurrent startTraining's insert waits for this transaction
      const [dataset] = await tx.$queryRaw<
        { kind: DatasetKind; status: DatasetStatus; annotationsPath: string | null; imagesDir: string | null; blobId: string | null }[]
      >`
        SELECT "kind", "status", "annotationsPath", "imagesDir", "blobId" FROM "Dataset" WHERE "id" = ${id} FOR UPDATE`;
      if (dataset === undefined) throw new NotFoundError('Dataset', id);
      // PENDING: deleting the row is the cancellation; the dataset job notices it (src/jobs/dataset.job.ts)
      const runs = await tx.trainingRun.count({ where: { datasetId: id } });
      if (runs > 0) {
        throw new ConflictError(`dataset ${id} is used by ${runs} training run(s): delete those runs first`, {
          field: 'id',
          runCount: runs,
        });
      }
      await tx.dataset.delete({ where: { id } });
      await deleteUnreferenced(tx, [dataset.blobId]);
      return dataset;
    });
    const folder = join(ctx.paths.datasets, id);
    if (deleted.kind === DatasetKind.SYNTHETIC) {
      // a stored set's blob went with the row; the folder is that of a PENDING set being generated on
      // this host, or of a set from before the artifact store
      await removeDataFolder(ctx.paths.datasets, folder, ctx, `synthetic dataset ${id}`);
    } else {
      // a COCO set's files are the user's, at paths they gave, and stay; what the worker wrote for
      // it (the backbone feature cache under datasets/<id>/features) goes, unless the user's files
      // are somehow inside that folder
      const features = join(folder, 'features');
      const users = [deleted.annotationsPath, deleted.imagesDir].filter((p): p is string => p !== null);
      if (users.some((p) => resolve(p) === resolve(features) || isInside(features, p))) {
        warn('keeping a COCO dataset folder that holds the user’s files', { folder: resolve(features), requestId: ctx.requestId });
      } else if (await removeDataFolder(ctx.paths.datasets, features, ctx, `feature cache of dataset ${id}`)) {
        await rmdir(folder).catch(() => {}); // only when nothing else is in it
      }
    }
    return id;
  }
}
