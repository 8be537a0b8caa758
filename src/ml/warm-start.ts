// Warm start: a run that begins from a trained model's weights instead of random ones. The model's
// architecture must be the run's (the settings of src/ml/settings/warm-start.ts; INCOMPATIBLE_MODEL
// otherwise). The vocabulary follows Vocabulary.extend: the parent's words keep their ids, the new
// data's words it lacks are appended; their embedding rows [V', D] and output columns (fc2 [U, V'],
// bias [V']) are freshly initialised from the run's seed, every other weight is the parent's.
import * as tf from '@tensorflow/tfjs';
import { CaptionModel } from './model/captionModel.ts';
import { ModelError } from './model/model-error.ts';
import { loadModel } from './saved-model.ts';
import type { ModelConfig } from './types.ts';
import { Vocabulary } from './vocab.ts';

/** Weights whose shape follows the vocabulary, and the axis that grows with it. */
const VOCAB_AXIS: Record<string, number> = { 'decoder/embedding': 0, 'decoder/fc2/kernel': 1, 'decoder/fc2/bias': 0 };

/** The first architecture difference between the parent's config and the run's, as "key: parent's vs run's". */
export function architectureDifference(parent: ModelConfig, run: ModelConfig): string | null {
  const show = (v: unknown) => JSON.stringify(v ?? null);
  const pairs: [string, unknown, unknown][] = [
    ['units', parent.units, run.units],
    ['embeddingDim', parent.embeddingDim, run.embeddingDim],
    ['encoderDim', parent.encoderDim, run.encoderDim],
    ['gridSize', parent.gridSize, run.gridSize],
    ['deepOutput', parent.deepOutput === true, run.deepOutput === true],
    ['encoder.kind', parent.encoder.kind, run.encoder.kind],
    ['imageSize', parent.encoder.imageSize, run.encoder.imageSize],
    ['channels', parent.encoder.kind === 'cnn' ? parent.encoder.channels : null, run.encoder.kind === 'cnn' ? run.encoder.channels : null],
    [
      'backbone',
      parent.encoder.kind === 'pretrained' ? parent.encoder.url : null,
      run.encoder.kind === 'pretrained' ? run.encoder.url : null,
    ],
    [
      'backboneLayer',
      parent.encoder.kind === 'pretrained' ? (parent.encoder.layer ?? null) : null,
      run.encoder.kind === 'pretrained' ? (run.encoder.layer ?? null) : null,
    ],
  ];
  const diff = pairs.find(([, a, b]) => show(a) !== show(b));
  return diff ? `${diff[0]}: the model's ${show(diff[1])}, the run's ${show(diff[2])}` : null;
}

export interface WarmStart {
  model: CaptionModel;
  vocab: Vocabulary;
  config: ModelConfig;
}

/**
 * The run's first model from the saved model in `dir`: `config` is the run's (its vocabSize and maxLength
 * are replaced by the extended vocabulary's), `built` the vocabulary the run's data would have alone.
 */
export async function warmStartFrom(
  dir: string,
  config: ModelConfig,
  built: Vocabulary,
  seed: number,
  channels?: number,
): Promise<WarmStart> {
  const parent = await loadModel(dir);
  try {
    const problem = architectureDifference(parent.config, config);
    if (problem) throw new ModelError('INCOMPATIBLE_MODEL', `initFrom: the architecture differs (${problem})`);
    const vocab = Vocabulary.extend(parent.vocab, built);
    const runConfig: ModelConfig = { ...config, vocabSize: vocab.size, maxLength: vocab.maxLength };
    // fresh weights of the run's shape (the new words' rows come from here), then the parent's copied in
    const model = CaptionModel.create(runConfig, seed, channels);
    if (model.channels !== parent.model.channels) {
      model.dispose();
      throw new ModelError(
        'INCOMPATIBLE_MODEL',
        `initFrom: the encoder's features have ${parent.model.channels} channels, the run's ${model.channels}`,
      );
    }
    const theirs = new Map(parent.model.weights.entries());
    const grow = parent.vocab.size;
    for (const [name, variable] of model.weights.entries()) {
      const from = theirs.get(name);
      if (!from) continue;
      const axis = VOCAB_AXIS[name];
      tf.tidy(() => {
        if (axis === undefined || variable.shape[axis] === grow) return variable.assign(from);
        const begin = variable.shape.map(() => 0);
        begin[axis] = grow;
        const fresh = tf.slice(variable, begin); // the appended words' freshly initialised part
        variable.assign(tf.concat([from, fresh], axis));
      });
    }
    return { model, vocab, config: runConfig };
  } finally {
    parent.model.dispose();
  }
}
