// A caption model from its parts in memory (config, vocabulary JSON, named weights), checked against
// each other. The worker reads the parts from a folder (src/ml/saved-model.ts), the browser fetches
// them (src/ml/browser/model-files.ts); both build the model here.
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../types.ts';
import { Vocabulary, type VocabularyJSON } from '../vocab.ts';
import { CaptionModel } from './captionModel.ts';
import { ModelError } from './model-error.ts';

/**
 * The model and vocabulary of the parts read from `where` (named in errors). The weights are copied
 * into the model's variables: the caller still owns (and disposes) them.
 */
export function assembleModel(
  parts: { config: ModelConfig; vocab: VocabularyJSON; weights: Map<string, tf.Tensor> },
  where: string,
): { model: CaptionModel; vocab: Vocabulary } {
  const { config, weights } = parts;
  const vocab = Vocabulary.fromJSON(parts.vocab);
  if (config.vocabSize !== vocab.size) {
    throw new ModelError('INVALID_ARTIFACT', `${where}: config vocabSize ${config.vocabSize} ≠ vocabulary size ${vocab.size}`);
  }
  // the raw feature depth C is the projection's input size
  const channels = weights.get('encoder/proj/kernel')?.shape[0];
  if (!channels) throw new ModelError('INVALID_ARTIFACT', `${where}: no encoder/proj/kernel weight`);
  return { model: CaptionModel.fromTensors(config, channels, weights), vocab };
}
