// A page of models' newest evaluations in one statement (Model.evaluations).
import type { Evaluation as EvaluationRow } from '../../db/client.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { type BatchQuery, groupedBy, load } from '../shared/batch.ts';
import { toEvaluation } from './evaluation.mapper.ts';
import type { Evaluation } from './evaluation.type.ts';

/** the most evaluations Model.evaluations lists */
export const MAX_MODEL_EVALUATIONS = 50;

/** key: `${limit}:${modelId}` (one limit per field selection; the statement takes the largest) */
const evaluationsByModel: BatchQuery<string, Evaluation[]> = async (ctx, keys) => {
  const parsed = keys.map((k) => ({ key: k, limit: Number(k.slice(0, k.indexOf(':'))), modelId: k.slice(k.indexOf(':') + 1) }));
  const limit = Math.max(...parsed.map((p) => p.limit));
  const rows = await ctx.prisma.$queryRaw<EvaluationRow[]>`
    SELECT * FROM (
      SELECT e.*, row_number() OVER (PARTITION BY e."modelId" ORDER BY e."createdAt" DESC, e.id DESC) AS position
      FROM "Evaluation" e WHERE e."modelId" = ANY(${[...new Set(parsed.map((p) => p.modelId))]}::text[])
    ) ranked WHERE position <= ${limit}
    ORDER BY "createdAt" DESC, id DESC`;
  const byModel = groupedBy(
    rows.map(({ position: _position, ...row }: EvaluationRow & { position?: unknown }) => toEvaluation(row)),
    (e) => e.modelId,
  );
  return new Map(parsed.map((p) => [p.key, (byModel.get(p.modelId) ?? []).slice(0, p.limit)]));
};

/** the newest `limit` evaluations of model `modelId`, batched with the request's other such loads */
export async function loadModelEvaluations(ctx: ApiContext, modelId: string, limit: number): Promise<Evaluation[]> {
  return (await load(ctx, evaluationsByModel, `${limit}:${modelId}`)) ?? [];
}
