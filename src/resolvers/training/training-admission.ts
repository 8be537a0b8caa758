// Resource admission for startTraining: the run is planned for its dataset under the worker's memory
// budget (GLIMPSE_WORKER_MAX_MEMORY) by planRun (src/ml/settings/plan.ts), the one function that both
// estimates the memory and chooses the automatic settings: defaults shrink to fit (the plan's notes
// say what and why), settings the client gave that cannot fit are refused with BAD_USER_INPUT naming
// the numbers before anything is queued (the run would otherwise stall, then break the worker).
import type { Dataset } from '../../db/client.ts';
import { OverBudgetError, planRun, type RunPlan, type SettingValues } from '../../ml/settings/index.ts';
import { BadUserInputError } from '../shared/api-errors.ts';

type Facts = Pick<Dataset, 'captionCount' | 'imageSide' | 'vocabularyWords' | 'maxCaptionTokens'>;

export function admitTraining(values: SettingValues, dataset: Facts, budgetBytes: number): RunPlan {
  const facts = {
    captions: dataset.captionCount,
    imageSide: dataset.imageSide,
    words: dataset.vocabularyWords,
    maxTokens: dataset.maxCaptionTokens,
  };
  try {
    return planRun(values, facts, budgetBytes);
  } catch (error) {
    if (!(error instanceof OverBudgetError)) throw error;
    throw new BadUserInputError('input', `${error.message}: lower batchSize, units, embeddingDim, vocabSize or maxLength`);
  }
}
