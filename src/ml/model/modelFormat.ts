// The format of a saved model's model.json, with no file access: a TF.js ModelJSON whose modelTopology
// names the Glimpse architecture, its config and its vocabulary file, and whose weightsManifest lists
// every weight. src/ml/model/modelJson.ts reads and writes it in a folder; the browser fetches it.
import type { ModelConfig } from '../types.ts';
import { ModelError } from './model-error.ts';
import type { WithWeights } from './weightsDecode.ts';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const VOCAB_JSON = 'vocab.json';
/** ModelJSON.format of a Glimpse model */
export const MODEL_FORMAT = 'glimpse-caption-model';
/** modelTopology.architecture: Show, Attend and Tell (CNN or backbone grid → attention → GRU) */
export const ARCHITECTURE = 'glimpse/show-attend-tell';

export interface GlimpseTopology {
  architecture: typeof ARCHITECTURE;
  config: ModelConfig;
  /** the vocabulary file, beside model.json */
  vocabulary: string;
}

export interface GlimpseModelJSON extends WithWeights {
  format: typeof MODEL_FORMAT;
  generatedBy: string;
  convertedBy: null;
  modelTopology: GlimpseTopology;
}

/** `modelJson` (read from `where`) checked to be a Glimpse caption model whose vocabulary is a file beside it. */
export function checkModelJson(modelJson: unknown, where: string): GlimpseModelJSON {
  const document = (modelJson ?? {}) as Partial<GlimpseModelJSON>;
  const topology = document.modelTopology as Partial<GlimpseTopology> | undefined;
  if (document.format !== MODEL_FORMAT || topology?.architecture !== ARCHITECTURE || typeof topology.config !== 'object') {
    throw new ModelError(
      'INVALID_ARTIFACT',
      `${where}: not a Glimpse caption model (format ${String(document.format)}, ` +
        `architecture ${String(topology?.architecture)}); a pretrained encoder belongs in the encoder's backbone setting`,
    );
  }
  // a bare file name: no folder part (what path.basename(name) === name says on POSIX)
  if (typeof topology.vocabulary !== 'string' || topology.vocabulary.includes('/')) {
    throw new ModelError('INVALID_ARTIFACT', `${where}: the vocabulary must be a file name beside it`);
  }
  return document as GlimpseModelJSON;
}
