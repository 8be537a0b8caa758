// Prisma Model row → GraphQL Model, and the NOT_FOUND lookup mutations share.
import type { Model as ModelRow } from '../../db/client.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { NotFoundError } from '../shared/api-errors.ts';
import type { Model } from './model.type.ts';

export function toModel(row: ModelRow): Model {
  return {
    ...row,
    config: row.config as Record<string, unknown>,
    metrics: row.metrics as Record<string, unknown> | null,
  };
}

export async function findModel(ctx: ApiContext, id: string): Promise<Model> {
  const row = await ctx.prisma.model.findUnique({ where: { id } });
  if (row === null) throw new NotFoundError('Model', id);
  return toModel(row);
}
