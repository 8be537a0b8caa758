// Model.evaluations: a model's newest evaluations, one statement for a whole page of models.
import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { ApiContext } from '../shared/api-context.ts';
import { checkRange } from '../shared/validate.ts';
import { Model } from '../models/model.type.ts';
import { loadModelEvaluations, MAX_MODEL_EVALUATIONS } from './evaluation.batch.ts';
import { Evaluation } from './evaluation.type.ts';

@Resolver(() => Model)
export class ModelEvaluationsResolver {
  @FieldResolver(() => [Evaluation], {
    description: `the model's newest evaluations, newest first (first: 1..${MAX_MODEL_EVALUATIONS}); all of them: evaluationsConnection(modelId)`,
  })
  evaluations(
    @Root() model: Model,
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: 10 }) first: number,
  ): Promise<Evaluation[]> {
    checkRange('first', first, 1, MAX_MODEL_EVALUATIONS);
    return loadModelEvaluations(ctx, model.id, first);
  }
}
