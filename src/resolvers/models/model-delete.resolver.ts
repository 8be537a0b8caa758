// deleteModel: a model with its caption requests, once none is in flight (src/resolvers/shared/deletion.ts).
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { deleteUnreferenced } from '../../storage/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { lockForDelete, refuseWhileUsed, removeDataFolder } from '../shared/deletion.ts';
import { CaptionStatus } from '../shared/enums.ts';

const ACTIVE_CAPTION_STATUSES: readonly CaptionStatus[] = [CaptionStatus.QUEUED, CaptionStatus.RUNNING];

@Resolver()
export class ModelDeleteResolver {
  @Authorized()
  @Mutation(() => ID, {
    description:
      'Delete a model with its caption requests and its artifact folder. NOT_FOUND: no such model; CONFLICT: it has QUEUED or RUNNING caption requests',
  })
  async deleteModel(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    const path = await ctx.prisma.$transaction(async (tx) => {
      // a concurrent requestCaption's insert waits for this transaction
      const model = await lockForDelete<{ path: string | null; blobId: string | null }>(tx, 'Model', id, ['path', 'blobId']);
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
}
