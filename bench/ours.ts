// Our side of the benchmark on the current tfjs backend: the real model (CaptionModel), the real
// optimiser step (Adam + global-norm clip 5, as src/ml/train.ts does) and the real decoder
// (decodeBatch), at the reference shapes.
import * as tf from '@tensorflow/tfjs';
import { CaptionModel, decodeBatch, freezeStepWeights, Vocabulary } from '../src/ml/index.ts';
// the optimiser step of src/ml/train.ts (not exported from the library's public API)
import { Adam } from '../src/ml/optimizer.ts';
import { type RowName, type RowTimes } from './rows.ts';
import { BACKBONE_CHANNELS, captions, DECODE_TOKENS, END, features, REFERENCE_CONFIG, VOCAB } from './shapes.ts';
import { statMs, type Stat } from './timing.ts';

const CLIP_NORM = 5;

export function vocabulary(): Vocabulary {
  const words = ['<pad>', '<start>', '<end>', '<unk>', ...Array.from({ length: VOCAB - 4 }, (_, i) => `w${i}`)];
  return Vocabulary.fromJSON({ words, maxLength: DECODE_TOKENS + 1 });
}

/** The reference model; for decoding, <end> can never win, so every caption is exactly 20 tokens (as in torch_ref.py). */
export function referenceModel(seed: number, forDecoding: boolean): CaptionModel {
  const model = CaptionModel.create(REFERENCE_CONFIG, seed, BACKBONE_CHANNELS);
  if (forDecoding) {
    const bias = model.weights.get('decoder/fc2/bias');
    tf.tidy(() => bias.assign(tf.add(bias, tf.oneHot([END], VOCAB).reshape([VOCAB]).mul(-1e4))));
  }
  return model;
}

export interface Runner {
  run: () => unknown;
  inputs: tf.Tensor[];
  dispose?: () => void;
}

export function trainStepRunner(model: CaptionModel, adam: Adam, batch: number): Runner {
  const input = features(batch, batch); // [B, 64, 2048]
  const caps = captions(batch, batch + 1); // [B, 12]
  const vars = model.weights.list();
  const run = () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(input, caps), vars);
      adam.apply(
        vars.map((v) => grads[v.name]),
        CLIP_NORM,
      );
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  return { run, inputs: [input, caps] };
}

export function decodeRunner(model: CaptionModel, vocab: Vocabulary, batch: number, method: 'greedy' | 'beam'): Runner {
  const input = features(batch, 100 + batch); // [B, 64, 2048]
  // as the worker's Captioner serves a model: step weights built once (freezeStepWeights)
  const frozen = freezeStepWeights(model);
  const run = async () => {
    const results = await decodeBatch(model, vocab, input, { method, beamWidth: 3, maxLength: DECODE_TOKENS + 1 }, undefined, frozen);
    const produced = results.map((r) => r.tokens.length);
    if (produced.some((n) => n !== DECODE_TOKENS)) throw new Error(`expected ${DECODE_TOKENS} tokens, got ${produced}`);
  };
  return { run, inputs: [input], dispose: () => frozen.dispose() };
}

/** Median (or fastest) ms of each requested row on the current backend; throws if tensors leak. */
export async function measureOurs(rows: readonly RowName[], runs: number, stat: Stat = 'median'): Promise<RowTimes> {
  const before = tf.memory().numTensors;
  const model = referenceModel(7, false); // trained by the training rows
  const decoder = referenceModel(7, true);
  const adam = new Adam(model.weights.names, model.weights.list(), 1e-3);
  const vocab = vocabulary();
  const times: RowTimes = {};
  try {
    for (const row of rows) {
      const batch = Number(row.slice(row.lastIndexOf('b') + 1));
      const training = row.startsWith('train');
      const runner = training
        ? trainStepRunner(model, adam, batch)
        : decodeRunner(decoder, vocab, batch, row.startsWith('greedy') ? 'greedy' : 'beam');
      times[row] = await statMs(runner.run, 2, training ? runs : runs * 2, stat);
      tf.dispose(runner.inputs);
      runner.dispose?.();
    }
  } finally {
    adam.dispose();
    model.dispose();
    decoder.dispose();
  }
  const leaked = tf.memory().numTensors - before;
  if (leaked > 0) throw new Error(`benchmark leaked ${leaked} tensors`);
  return times;
}
