// Resource admission for startTraining: the memory a run needs, estimated from its settings and its
// dataset's caption statistics (distinct words, longest caption), must fit the worker's budget
// (GLIMPSE_WORKER_MAX_MEMORY). A run that does not is refused with BAD_USER_INPUT naming the limit
// before it is queued: it would otherwise stall and then break the worker that took it.
import type { Dataset } from '../../db/client.ts';
import { estimateTrainingMemory, formatBytes, sizesOnDataset, type RunSettings } from '../../ml/settings/index.ts';
import { BadUserInputError } from '../shared/api-errors.ts';

export function admitTraining(run: RunSettings, dataset: Pick<Dataset, 'vocabularyWords' | 'maxCaptionTokens'>, budgetBytes: number): void {
  const estimate = estimateTrainingMemory(sizesOnDataset(run, { words: dataset.vocabularyWords, maxTokens: dataset.maxCaptionTokens }));
  if (estimate.totalBytes <= budgetBytes) return;
  throw new BadUserInputError(
    'input',
    `this run needs about ${formatBytes(estimate.totalBytes)} of memory (${estimate.parameters.toLocaleString('en')} parameters; ` +
      `activations of ${run.batchSize} captions per step), over the worker budget of ${formatBytes(budgetBytes)} ` +
      '(GLIMPSE_WORKER_MAX_MEMORY): lower batchSize, units, embeddingDim, vocabSize or maxLength',
  );
}
