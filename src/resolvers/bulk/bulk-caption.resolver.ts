// captionDataset: every image of a READY dataset captioned by one model as one `bulk-caption` job (the row and
// its job in one transaction); its progress (bulkCaptionProgress), cancel, paginated results, and the job list.
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { BulkCaptionStatus, DatasetStatus } from '../../db/client.ts';
import { notify } from '../../events/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError, ConflictError, NotFoundError } from '../shared/api-errors.ts';
import { checkOwner } from '../shared/auth.ts';
import { openStream } from '../shared/follow-rows.ts';
import { connection, DEFAULT_PAGE, MAX_PAGE, NEWEST_FIRST } from '../shared/pagination.ts';
import { checkRange } from '../shared/validate.ts';
import { datasetOf } from '../datasets/dataset.batch.ts';
import { Dataset } from '../datasets/dataset.type.ts';
import { loadModelById } from '../models/model.batch.ts';
import { findModelByIdOrRef } from '../models/model.mapper.ts';
import { Model } from '../models/model.type.ts';
import { bulkDecoding, CaptionDatasetInput } from './bulk-caption.input.ts';
import { decodeIndexCursor, encodeIndexCursor, isTerminalBulk, toBulkCaptionJob } from './bulk-caption.mapper.ts';
import { BulkCaptionJob, BulkCaptionJobConnection, BulkCaptionResultConnection } from './bulk-caption.type.ts';

async function findJob(ctx: ApiContext, id: string): Promise<BulkCaptionJob> {
  const row = await ctx.prisma.bulkCaptionJob.findUnique({ where: { id } });
  if (row === null) throw new NotFoundError('BulkCaptionJob', id);
  return toBulkCaptionJob(row);
}

@Resolver(() => BulkCaptionJob)
export class BulkCaptionResolver {
  @Mutation(() => BulkCaptionJob, {
    description:
      'Queue one job that captions every image of a dataset (queue bulk-caption). NOT_FOUND: no such model or dataset; ' +
      'BAD_USER_INPUT: the dataset is not READY, SAMPLE, settings out of bounds',
  })
  async captionDataset(
    @Arg('input', () => CaptionDatasetInput) input: CaptionDatasetInput,
    @Ctx() ctx: ApiContext,
  ): Promise<BulkCaptionJob> {
    const decoding = bulkDecoding(input);
    // a reference ("captioner@production", "captioner:3" or an id), read now: the job records the exact version
    const model = await findModelByIdOrRef(ctx, 'input.modelId', input.modelId);
    const dataset = await ctx.prisma.dataset.findUnique({ where: { id: input.datasetId } });
    if (dataset === null) throw new NotFoundError('Dataset', input.datasetId);
    if (dataset.status !== DatasetStatus.READY) {
      throw new BadUserInputError('input.datasetId', `dataset ${dataset.id} is ${dataset.status}: bulk captioning needs a READY dataset`);
    }
    const row = await ctx.prisma.$transaction(async (tx) => {
      const job = await tx.bulkCaptionJob.create({
        data: { modelId: model.id, datasetId: dataset.id, ...decoding, total: dataset.imageCount, createdByKey: ctx.caller.keyName },
      });
      await ctx.queue.enqueueBulkCaption(tx, { jobId: job.id }, job.priority);
      await notify(tx, 'bulk_caption', job.id);
      return job;
    });
    return toBulkCaptionJob(row);
  }

  @Mutation(() => BulkCaptionJob, {
    description:
      'QUEUED → CANCELLED at once; RUNNING → cancelRequested, the worker stops before its next batch (results kept). ' +
      'NOT_FOUND: no such job; CONFLICT: it has ended',
  })
  async cancelBulkCaption(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<BulkCaptionJob> {
    const job = await findJob(ctx, id);
    checkOwner(ctx, job.createdByKey, `bulk caption job ${id}`, 'cancelling');
    await ctx.prisma.$transaction(async (tx) => {
      await tx.bulkCaptionJob.updateMany({
        where: { id, status: BulkCaptionStatus.QUEUED },
        data: { status: BulkCaptionStatus.CANCELLED, cancelRequested: true, finishedAt: new Date() },
      });
      await tx.bulkCaptionJob.updateMany({ where: { id, status: BulkCaptionStatus.RUNNING }, data: { cancelRequested: true } });
      await notify(tx, 'bulk_caption', id);
    });
    const after = await findJob(ctx, id);
    if (isTerminalBulk(job.status) || (after.status !== BulkCaptionStatus.CANCELLED && !after.cancelRequested)) {
      throw new ConflictError(`bulk caption job ${id} is ${after.status}: only QUEUED or RUNNING jobs can be cancelled`, {
        status: after.status,
      });
    }
    return after;
  }

  @Query(() => BulkCaptionJob, { description: 'NOT_FOUND for an unknown id' })
  bulkCaptionJob(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<BulkCaptionJob> {
    return findJob(ctx, id);
  }

  @Query(() => BulkCaptionJobConnection, { description: 'bulk caption jobs, newest first, cursor-paginated' })
  bulkCaptionJobsConnection(
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
  ): Promise<BulkCaptionJobConnection> {
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.bulkCaptionJob.findMany({ where: start, orderBy: NEWEST_FIRST, take }),
      () => ctx.prisma.bulkCaptionJob.count(),
      toBulkCaptionJob,
    );
  }

  @Query(() => BulkCaptionResultConnection, {
    description: "a job's results in the dataset's image order, cursor-paginated (also while it runs). NOT_FOUND: no such job",
  })
  async bulkCaptionResults(
    @Ctx() ctx: ApiContext,
    @Arg('jobId', () => ID) jobId: string,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
  ): Promise<BulkCaptionResultConnection> {
    checkRange('first', first, 1, MAX_PAGE);
    const from = after ? decodeIndexCursor('after', after) + 1 : 0;
    await findJob(ctx, jobId);
    const [rows, totalCount] = await Promise.all([
      ctx.prisma.bulkCaptionResult.findMany({ where: { jobId, index: { gte: from } }, orderBy: { index: 'asc' }, take: first + 1 }),
      ctx.prisma.bulkCaptionResult.count({ where: { jobId } }),
    ]);
    const edges = rows.slice(0, first).map((node) => ({ cursor: encodeIndexCursor(node.index), node }));
    return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
  }

  @FieldResolver(() => Model, { description: 'the model captioning (batched per page)' })
  async model(@Root() job: BulkCaptionJob, @Ctx() ctx: ApiContext): Promise<Model> {
    const model = await loadModelById(ctx, job.modelId);
    if (model === null) throw new NotFoundError('Model', job.modelId);
    return model;
  }

  @FieldResolver(() => Dataset, { description: 'the dataset captioned (batched per page)' })
  dataset(@Root() job: BulkCaptionJob, @Ctx() ctx: ApiContext): Promise<Dataset> {
    return datasetOf(ctx, job.datasetId);
  }

  @Subscription(() => BulkCaptionJob, {
    description: 'The job now, then again on every change (a batch stored, a status); completes once it has ended. NOT_FOUND: no such job',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, ApiContext>) => progressStream(context, args.id),
  })
  bulkCaptionProgress(@Root() event: BulkCaptionJob | Error, @Arg('id', () => ID) _id: string): BulkCaptionJob {
    if (event instanceof Error) throw event;
    return event;
  }
}

/** rows first, NOTIFY as the wake-up: each read delivers the job when it changed since the last delivery */
async function progressStream(ctx: ApiContext, id: string) {
  const wakeUps = ctx.events.subscribe('bulk_caption', id);
  let last = '';
  return openStream<BulkCaptionJob | Error>(
    wakeUps,
    async () => (await ctx.prisma.bulkCaptionJob.count({ where: { id } })) > 0,
    () => new NotFoundError('BulkCaptionJob', id),
    async () => {
      const row = await ctx.prisma.bulkCaptionJob.findUnique({ where: { id } });
      if (row === null) return { events: [new NotFoundError('BulkCaptionJob', id)], more: false, done: true };
      const key = `${row.status}:${row.done}:${row.failed}:${row.cancelRequested}:${row.total}`;
      const changed = key !== last;
      last = key;
      return { events: changed ? [toBulkCaptionJob(row)] : [], more: false, done: isTerminalBulk(row.status) };
    },
  );
}
