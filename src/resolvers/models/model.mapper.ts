// Prisma Model row → GraphQL Model, and the lookups (by id, by reference) and name checks the mutations share.
import type { Model as ModelRow } from '../../db/client.ts';
import { checkedModelName, ModelRefSyntaxError } from '../../registry/model-ref.ts';
import { type ResolvedModel, resolveModelRef } from '../../registry/resolve.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError, NotFoundError } from '../shared/api-errors.ts';
import type { Model } from './model.type.ts';

/** the trimmed name, or BAD_USER_INPUT naming `field` (1 to 100 printable characters: src/registry/model-ref.ts) */
export function checkModelName(field: string, name: string): string {
  const checked = checkedModelName(name);
  if ('problem' in checked) throw new BadUserInputError(field, checked.problem);
  return checked.name;
}

/**
 * The model a reference names now ("name@alias", "name:version" or an id; src/registry/model-ref.ts), read at
 * this moment (no cache). BAD_USER_INPUT naming `field` for text that is not a reference, NOT_FOUND for one
 * that names nothing. For every mutation that takes a model reference (requestCaption's `model`, and evaluation,
 * warm start and bulk captions to come).
 */
export async function findModelByRef(ctx: Pick<ApiContext, 'prisma'>, field: string, ref: string): Promise<ResolvedModel> {
  let resolved: ResolvedModel | null;
  try {
    resolved = await resolveModelRef(ctx.prisma, ref);
  } catch (error) {
    if (error instanceof ModelRefSyntaxError) throw new BadUserInputError(field, error.message);
    throw error;
  }
  if (resolved === null) throw new NotFoundError('Model', ref.trim());
  return resolved;
}

/**
 * A field that took a model id and now takes a reference too (evaluateModel's and captionDataset's `modelId`,
 * startTraining's `initFrom`): text with `@` or `:` is a reference (findModelByRef); anything else an id, NOT_FOUND
 * when there is no such model, whatever its shape (as before references).
 */
export async function findModelByIdOrRef(ctx: Pick<ApiContext, 'prisma'>, field: string, text: string): Promise<{ id: string }> {
  if (/[@:]/.test(text)) return findModelByRef(ctx, field, text);
  const row = await ctx.prisma.model.findUnique({ where: { id: text }, select: { id: true } });
  if (row === null) throw new NotFoundError('Model', text);
  return row;
}

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
