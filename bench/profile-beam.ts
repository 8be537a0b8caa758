// `npx tsx bench/profile-beam.ts [--backend wasm] [--runs 9]`: where beam search's time goes, at the
// reference shapes (bench/shapes.ts, 20 tokens, <end> made impossible as in bench/ours.ts).
// Table 1: whole decodes (median wall ms, kernels launched); greedy at batch 3K is the forward a
// width-3 beam over K images needs, so beam − greedy is the beam bookkeeping; "image by image"
// decodes the batch one image per call, as decodeBatch's beam search did before batching.
// Table 2: the per-step pieces of that bookkeeping timed alone (median µs per call).
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { topK } from '../src/ml/decode/beam.ts';
import { CaptionModel, decodeBatch, Vocabulary } from '../src/ml/index.ts';
import { BACKBONE_CHANNELS, CELLS, DECODE_TOKENS, END, features, REFERENCE_CONFIG, VOCAB } from './shapes.ts';
import { medianMs } from './timing.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, runs: { type: 'string', default: '9' } } });
const info = await initBackend(values.backend, nativeBackendOptions());
const runs = Number(values.runs);

const model = CaptionModel.create(REFERENCE_CONFIG, 7, BACKBONE_CHANNELS);
const bias = model.weights.get('decoder/fc2/bias');
tf.tidy(() => bias.assign(tf.add(bias, tf.oneHot([END], VOCAB).reshape([VOCAB]).mul(-1e4))));
const words = ['<pad>', '<start>', '<end>', '<unk>', ...Array.from({ length: VOCAB - 4 }, (_, i) => `w${i}`)];
const vocab = Vocabulary.fromJSON({ words, maxLength: DECODE_TOKENS + 1 });
const before = tf.memory().numTensors;

// [row, batch, method, image by image (a decodeBatch call per image, as beam search ran before)]
const rows: [string, number, 'greedy' | 'beam', boolean][] = [
  ['greedy 20 b1', 1, 'greedy', false],
  ['greedy 20 b3', 3, 'greedy', false],
  ['beam 3 20 b1', 1, 'beam', false],
  ['greedy 20 b12', 12, 'greedy', false],
  ['beam 3 20 b4, image by image', 4, 'beam', true],
  ['beam 3 20 b4', 4, 'beam', false],
  ['beam 3 20 b16, image by image', 16, 'beam', true],
  ['beam 3 20 b16', 16, 'beam', false],
];
const table1: string[] = ['| row | wall ms | ms per image | kernels |', '|---|---:|---:|---:|'];
for (const [name, batch, method, byImage] of rows) {
  const input = features(batch, 100 + batch);
  const parts = byImage ? Array.from({ length: batch }, (_, b) => tf.slice(input, b, 1)) : [input];
  const opts = { method, beamWidth: 3, maxLength: DECODE_TOKENS + 1 };
  const decode = async () => {
    for (const part of parts) await decodeBatch(model, vocab, part, opts);
  };
  const wall = await medianMs(decode, 2, runs);
  // kernel count only: tf.profile's per-kernel times include its own synchronisation
  const profile = await tf.profile(decode);
  table1.push(`| ${name} | ${wall.toFixed(1)} | ${(wall / batch).toFixed(1)} | ${profile.kernels.length} |`);
  if (byImage) tf.dispose(parts);
  input.dispose();
}

// the bookkeeping pieces of one beam step (width 3, one image), alone
const U = REFERENCE_CONFIG.units;
const E = REFERENCE_CONFIG.encoderDim;
const K = 3;
const feats = tf.randomUniform([1, CELLS, E]) as tf.Tensor3D;
const keys = tf.randomUniform([1, CELLS, U]) as tf.Tensor3D;
const h = tf.randomUniform([K, U]) as tf.Tensor2D;
const logits = tf.randomNormal([K, VOCAB]) as tf.Tensor2D;
const probs = tf.tidy(() => tf.logSoftmax(logits));
const host = probs.dataSync() as Float32Array;
const scores = tf.tensor1d([-1, -2, -3]);
const h48 = tf.randomUniform([16 * K, U]) as tf.Tensor2D;
const parents48 = Array.from({ length: 16 * K }, (_, i) => (i * 7) % (16 * K));
const micro: [string, () => void][] = [
  ['tile features+keys 1→3 rows (before)', () => tf.dispose([tf.tile(feats, [K, 1, 1]), tf.tile(keys, [K, 1, 1])])],
  [
    'gather features+keys by image, 1→3 rows',
    () =>
      tf.tidy(() => {
        const i = tf.tensor1d([0, 0, 0], 'int32');
        tf.gather(feats, i);
        tf.gather(keys, i);
      }),
  ],
  [
    'concat of the image slice, 1→3 rows (now)',
    () =>
      tf.tidy(() => {
        tf.concat([feats, feats, feats]);
        tf.concat([keys, keys, keys]);
      }),
  ],
  ['tf.gather state by parent, 3 rows (before)', () => tf.tidy(() => void tf.gather(h, tf.tensor1d([2, 0, 0], 'int32')))],
  ['tf.gather state by parent, 48 rows', () => tf.tidy(() => void tf.gather(h48, tf.tensor1d(parents48, 'int32')))],
  [
    'state by parent on the host, 48 rows (now)',
    () => {
      const src = h48.dataSync() as Float32Array;
      const dst = new Float32Array(parents48.length * U);
      parents48.forEach((p, i) => dst.set(src.subarray(p * U, (p + 1) * U), i * U));
      tf.tensor2d(dst, [parents48.length, U]).dispose();
    },
  ],
  ['logSoftmax [3, 5000] + dataSync', () => tf.tidy(() => void tf.logSoftmax(logits).dataSync())],
  ['dataSync logProbs [3, 5000]', () => void probs.dataSync()],
  [
    'JS top-3 of 3 rows × 5000',
    () => {
      for (let r = 0; r < K; r++) topK(host.subarray(r * VOCAB, (r + 1) * VOCAB), K);
    },
  ],
  [
    'tf.topk of scores + logProbs [15000]',
    () => tf.tidy(() => void tf.topk(tf.add(probs, scores.reshape([K, 1])).reshape([-1]), K).indices.dataSync()),
  ],
];
const table2: string[] = ['| piece | µs per call |', '|---|---:|'];
for (const [name, fn] of micro) {
  const n = 200;
  const ms = await medianMs(
    () => {
      for (let i = 0; i < n; i++) fn();
    },
    1,
    5,
  );
  table2.push(`| ${name} | ${((ms / n) * 1000).toFixed(1)} |`);
}
tf.dispose([feats, keys, h, h48, logits, probs, scores]);

console.log(`${info.name} (${info.threads} thread(s)), ${runs} runs, medians after 2 warm-ups\n`);
console.log(table1.join('\n'));
console.log('\nbeam bookkeeping, one call each (width 3):\n');
console.log(table2.join('\n'));
const leaked = tf.memory().numTensors - before;
model.dispose();
if (leaked !== 0) throw new Error(`profile leaked ${leaked} tensors`);
