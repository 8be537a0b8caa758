// deleteDataset: a dataset no run uses; a synthetic set's folder or a COCO set's feature cache goes with
// it, never the user's own files (src/resolvers/shared/deletion.ts).
import { rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { DatasetKind } from '../../db/client.ts';
import { deleteUnreferenced } from '../../storage/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { isInside, lockForDelete, refuseWhileUsed, removeDataFolder } from '../shared/deletion.ts';

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

@Resolver()
export class DatasetDeleteResolver {
  @Authorized()
  @Mutation(() => ID, {
    description:
      "Delete a dataset that no training run uses; a SYNTHETIC set's generated folder goes with it (a COCO set's files are never touched, only the feature cache Glimpse wrote for it). A PENDING set is cancelled: the worker generating or indexing it stops at its next progress write and removes what it wrote. NOT_FOUND: no such dataset; CONFLICT: training runs still use it (delete them first)",
  })
  async deleteDataset(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    const deleted = await ctx.prisma.$transaction(async (tx) => {
      // a concurrent startTraining's insert waits for this transaction
      const dataset = await lockForDelete<DeletedDataset>(tx, 'Dataset', id, ['kind', 'annotationsPath', 'imagesDir', 'blobId']);
      // PENDING: deleting the row is the cancellation; the dataset job notices it (src/jobs/dataset.job.ts)
      refuseWhileUsed(
        await tx.trainingRun.count({ where: { datasetId: id } }),
        'runCount',
        (runs) => `dataset ${id} is used by ${runs} training run(s): delete those runs first`,
      );
      await tx.dataset.delete({ where: { id } });
      await deleteUnreferenced(tx, [dataset.blobId]);
      return dataset;
    });
    await removeDatasetFolders(ctx, id, deleted);
    return id;
  }
}
