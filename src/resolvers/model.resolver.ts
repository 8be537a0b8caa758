import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { ApiContext } from './context.ts';
import { findModel, toModel } from './model.mapper.ts';
import { Model } from './model.type.ts';
import { toTrainingRun } from './training-run.mapper.ts';
import { TrainingRun } from './training-run.type.ts';

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => [Model], { description: 'all models, newest first' })
  async models(@Ctx() ctx: ApiContext): Promise<Model[]> {
    const rows = await ctx.prisma.model.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    return rows.map(toModel);
  }

  @Query(() => Model, { description: 'NOT_FOUND for an unknown id' })
  model(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<Model> {
    return findModel(ctx, id);
  }

  @FieldResolver(() => TrainingRun, { nullable: true })
  async run(@Root() model: Model, @Ctx() ctx: ApiContext): Promise<TrainingRun | null> {
    if (model.runId === null) return null;
    const row = await ctx.prisma.trainingRun.findUnique({ where: { id: model.runId } });
    return row && toTrainingRun(row);
  }
}
