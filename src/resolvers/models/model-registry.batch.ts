// For a whole page at once: the aliases of a page of models or names, the latest version and version count of a
// page of names, the models of a page of caption requests.
import type { ApiContext } from '../shared/api-context.ts';
import { type BatchQuery, byKey, groupedBy, load } from '../shared/batch.ts';
import { toModel } from './model.mapper.ts';
import type { Model } from './model.type.ts';
import type { ModelAlias } from './model-registry.type.ts';

type AliasRow = { name: string; alias: string; modelId: string; updatedAt: Date; updatedByKey: string | null; model: { version: number } };

export const toModelAlias = ({ model, ...row }: AliasRow): ModelAlias => ({ ...row, version: model.version });

const ALIAS_SELECT = { name: true, alias: true, modelId: true, updatedAt: true, updatedByKey: true, model: { select: { version: true } } };

const aliasesByModelId: BatchQuery<string, ModelAlias[]> = async (ctx, ids) =>
  groupedBy(
    (await ctx.prisma.modelAlias.findMany({ where: { modelId: { in: [...ids] } }, select: ALIAS_SELECT, orderBy: { alias: 'asc' } })).map(
      toModelAlias,
    ),
    (a) => a.modelId,
  );

const aliasesByName: BatchQuery<string, ModelAlias[]> = async (ctx, names) =>
  groupedBy(
    (await ctx.prisma.modelAlias.findMany({ where: { name: { in: [...names] } }, select: ALIAS_SELECT, orderBy: { alias: 'asc' } })).map(
      toModelAlias,
    ),
    (a) => a.name,
  );

const latestByName: BatchQuery<string, Model> = async (ctx, names) => {
  const rows = await ctx.prisma.model.findMany({
    where: { name: { in: [...names] } },
    distinct: ['name'],
    orderBy: [{ name: 'asc' }, { version: 'desc' }],
  });
  return byKey(rows.map(toModel), (m) => m.name);
};

const versionCountByName: BatchQuery<string, number> = async (ctx, names) => {
  const rows = await ctx.prisma.model.groupBy({ by: ['name'], where: { name: { in: [...names] } }, _count: { _all: true } });
  return new Map(rows.map((r) => [r.name, r._count._all]));
};

const modelsById: BatchQuery<string, Model> = async (ctx, ids) =>
  byKey((await ctx.prisma.model.findMany({ where: { id: { in: [...ids] } } })).map(toModel), (m) => m.id);

/** the aliases pointing at model `modelId` (batched) */
export async function loadAliasesOfModel(ctx: ApiContext, modelId: string): Promise<ModelAlias[]> {
  return (await load(ctx, aliasesByModelId, modelId)) ?? [];
}

/** the aliases of the name (batched) */
export async function loadAliasesOfName(ctx: ApiContext, name: string): Promise<ModelAlias[]> {
  return (await load(ctx, aliasesByName, name)) ?? [];
}

/** the highest version of the name (batched); null when every version was deleted */
export function loadLatestVersion(ctx: ApiContext, name: string): Promise<Model | null> {
  return load(ctx, latestByName, name);
}

/** how many versions the name has now (batched) */
export async function loadVersionCount(ctx: ApiContext, name: string): Promise<number> {
  return (await load(ctx, versionCountByName, name)) ?? 0;
}

/** the model `id` (batched), or null */
export function loadModel(ctx: ApiContext, id: string): Promise<Model | null> {
  return load(ctx, modelsById, id);
}
