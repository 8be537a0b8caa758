// deleteTrainingRun: a finished run with its history and checkpoints; its model stays (src/resolvers/shared/deletion.ts).
import { join } from 'node:path';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { RunStatus } from '../../db/client.ts';
import { deleteUnreferenced } from '../../storage/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { ConflictError, NotFoundError } from '../shared/api-errors.ts';
import { removeDataFolder } from '../shared/deletion.ts';
import { isTerminalRun, TERMINAL_RUN_STATUSES } from '../shared/enums.ts';

@Resolver()
export class TrainingRunDeleteResolver {
  @Authorized()
  @Mutation(() => ID, {
    description:
      'Delete a SUCCEEDED, FAILED or CANCELLED training run with its loss points, epochs, checkpoints and checkpoint folder; its model is kept (model.run becomes null). NOT_FOUND: no such run; CONFLICT: QUEUED or RUNNING (cancel it first)',
  })
  async deleteTrainingRun(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    await ctx.prisma.$transaction(async (tx) => {
      // FOR UPDATE: a concurrent resumeTraining / worker write waits for this transaction
      const [run] = await tx.$queryRaw<{ status: RunStatus }[]>`SELECT "status" FROM "TrainingRun" WHERE "id" = ${id} FOR UPDATE`;
      if (run === undefined) throw new NotFoundError('TrainingRun', id);
      if (!isTerminalRun(run.status)) {
        throw new ConflictError(
          `run ${id} is ${run.status}: cancel it first (only ${TERMINAL_RUN_STATUSES.join(', ')} runs can be deleted)`,
          { field: 'id', status: run.status },
        );
      }
      await tx.model.updateMany({ where: { runId: id }, data: { runId: null } });
      const checkpoints = await tx.checkpoint.findMany({ where: { runId: id }, select: { blobId: true } });
      await tx.trainingRun.delete({ where: { id } });
      // the checkpoints' blobs no other row shares go in the same transaction (src/storage)
      await deleteUnreferenced(
        tx,
        checkpoints.map((c) => c.blobId),
      );
    });
    // a checkpoint folder on this host: a run from before the artifact store (single-host installs)
    await removeDataFolder(ctx.paths.checkpoints, join(ctx.paths.checkpoints, id), ctx.log, `checkpoints of run ${id}`);
    return id;
  }
}
