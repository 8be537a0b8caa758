import type { Evaluation as EvaluationRow } from '../../db/client.ts';
import type { Evaluation, EvaluationExample } from './evaluation.type.ts';

export function toEvaluation({ examples, timings, ...row }: EvaluationRow): Evaluation {
  return {
    ...row,
    examples: (examples ?? []) as unknown as EvaluationExample[],
    timings: timings as Record<string, unknown> | null,
  };
}
