// A small untrained model folder written by src/ml (what `train --out DIR` leaves), for CLI tests.
import { saveModel } from '../../src/ml/saved-model.ts';
import { initBackend } from '../../src/ml/backend.ts';
import { CaptionModel } from '../../src/ml/model/captionModel.ts';
import { BABY_MODEL_CONFIG } from '../../src/ml/model/config.ts';
import { Vocabulary } from '../../src/ml/vocab.ts';

export async function saveTinyModel(dir: string): Promise<void> {
  await initBackend('cpu');
  const vocab = Vocabulary.build(['a red circle', 'a blue square'], { topK: 10 });
  const model = CaptionModel.create({ ...BABY_MODEL_CONFIG, vocabSize: vocab.size }, 5);
  try {
    await saveModel(dir, { model, vocab, metrics: { step: 1 } });
  } finally {
    model.dispose();
  }
}
