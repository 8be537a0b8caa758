// Models read by their run for a whole page of runs at once (a page of runs each showing its model).
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
