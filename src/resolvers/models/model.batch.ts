// For a whole page at once: the models of a page of runs, the dataset vocabularies of a page of models.
import type { ApiContext } from '../shared/api-context.ts';
import { type BatchQuery, byKey, load } from '../shared/batch.ts';
import { toModel } from './model.mapper.ts';
import type { Model } from './model.type.ts';

const modelsByRunId: BatchQuery<string, Model> = async (ctx, runIds) =>
  byKey((await ctx.prisma.model.findMany({ where: { runId: { in: [...runIds] } } })).map(toModel), (m) => m.runId!);

/** the model run `runId` produced (batched with the request's other such loads), or null */
export function loadModelOfRun(ctx: ApiContext, runId: string): Promise<Model | null> {
  return load(ctx, modelsByRunId, runId);
}

const modelsById: BatchQuery<string, Model> = async (ctx, ids) =>
  byKey((await ctx.prisma.model.findMany({ where: { id: { in: [...ids] } } })).map(toModel), (m) => m.id);

/** the model `id` (batched with the request's other such loads), or null */
export function loadModel(ctx: ApiContext, id: string): Promise<Model | null> {
  return load(ctx, modelsById, id);
}

/** distinct words of the dataset each run trained on, by run id: one statement (Prisma would read runs, then datasets) */
const vocabularyByRunId: BatchQuery<string, number | null> = async (ctx, runIds) => {
  const rows = await ctx.prisma.$queryRaw<{ id: string; vocabularyWords: number | null }[]>`
    SELECT r.id, d."vocabularyWords" FROM "TrainingRun" r JOIN "Dataset" d ON d.id = r."datasetId"
    WHERE r.id = ANY(${[...runIds]}::text[])`;
  return new Map(rows.map((r) => [r.id, r.vocabularyWords]));
};

/** the vocabularyWords of the dataset run `runId` trained on (batched), or null */
export function loadDatasetVocabulary(ctx: ApiContext, runId: string): Promise<number | null> {
  return load(ctx, vocabularyByRunId, runId);
}
