// A small untrained model folder written by src/ml (what `train --out DIR` leaves), for CLI tests.
import { saveModel } from '../../src/ml/saved-model.ts';
import { initBackend } from '../../src/ml/backend.ts';
import { CaptionModel } from '../../src/ml/model/captionModel.ts';
import { BABY_MODEL_CONFIG } from '../../src/ml/model/config.ts';
import type { EncoderConfig } from '../../src/ml/types.ts';
import { Vocabulary } from '../../src/ml/vocab.ts';

/** `encoder`: a pretrained one (its backbone's feature depth `backboneChannels`) instead of the baby CNN */
export async function saveTinyModel(dir: string, encoder?: { config: EncoderConfig; backboneChannels: number }): Promise<void> {
  await initBackend('cpu');
  const vocab = Vocabulary.build(['a red circle', 'a blue square'], { topK: 10 });
  const config = { ...BABY_MODEL_CONFIG, vocabSize: vocab.size, ...(encoder ? { encoder: encoder.config } : {}) };
  const model = CaptionModel.create(config, 5, encoder?.backboneChannels);
  try {
    await saveModel(dir, { model, vocab, metrics: { step: 1 } });
  } finally {
    model.dispose();
  }
}
