// Datasets read by id for a whole page of parents at once (a page of runs each showing its dataset).
import type { ApiContext } from '../shared/api-context.ts';
import { type BatchQuery, byKey, load } from '../shared/batch.ts';
import { NotFoundError } from '../shared/api-errors.ts';
import type { Dataset } from './dataset.type.ts';

const datasetsById: BatchQuery<string, Dataset> = async (ctx, ids) =>
  byKey(await ctx.prisma.dataset.findMany({ where: { id: { in: [...ids] } } }), (d) => d.id);

/** the dataset `id` (batched with the request's other dataset loads), or null */
export function loadDataset(ctx: ApiContext, id: string): Promise<Dataset | null> {
  return load(ctx, datasetsById, id);
}

/** the dataset a row points at (batched); NOT_FOUND should it be gone */
export async function datasetOf(ctx: ApiContext, id: string): Promise<Dataset> {
  const dataset = await loadDataset(ctx, id);
  if (dataset === null) throw new NotFoundError('Dataset', id);
  return dataset;
}
