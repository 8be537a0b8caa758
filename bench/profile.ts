// `npx tsx bench/profile.ts [--what train|greedy|beam] [--batch 16] [--backend wasm|wasm:2|wasm+openblas[:W[:B]]|cpu]
//   [--off gru,attention-softmax,…]`: one real
// training step (or one 20-token caption decode of the bench's reference model) under tf.profile,
// kernels aggregated by name and by name+input shapes (top 25).
// Nested ops (fusedMatMul__op around _FusedMatMul) are counted at both levels. --off switches native
// parts off (src/ml/kernels/native-kernel.ts NativePart), to count the kernels a fused one replaces.
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { type NativePart, setNativePart } from '../src/ml/kernels/native-kernel.ts';
import { CaptionModel, decodeBatch, freezeStepWeights, Vocabulary } from '../src/ml/index.ts';
import { Adam } from '../src/ml/optimizer.ts';
import { parseBenchConfig } from './config.ts';
import { BACKBONE_CHANNELS, captions, DECODE_TOKENS, END, features, REFERENCE_CONFIG, VOCAB } from './shapes.ts';

const { values } = parseArgs({
  options: {
    what: { type: 'string', default: 'train' },
    batch: { type: 'string', default: '16' },
    backend: { type: 'string', default: 'wasm' },
    off: { type: 'string', default: '' },
  },
});
const PARTS: NativePart[] = [
  'conv',
  'conv2d',
  'optimizer',
  'attention',
  'attention-softmax',
  'gru',
  'recurrence',
  'decode-step',
  'cross-entropy',
];
for (const part of values.off.split(',').filter((p) => p !== '')) {
  if (!(PARTS as string[]).includes(part)) throw new Error(`--off takes ${PARTS.join(', ')}, got ${part}`);
  setNativePart(part as NativePart, false);
}
if (!['train', 'greedy', 'beam'].includes(values.what)) throw new Error(`--what must be train, greedy or beam, got ${values.what}`);
const bench = parseBenchConfig(values.backend); // wasm:N = N XNNPACK threads; wasm+openblas = native kernels
const info = await initBackend(bench.backend, { ...nativeBackendOptions(), ...bench.options });
const batch = Number(values.batch);
const model = CaptionModel.create(REFERENCE_CONFIG, 1, BACKBONE_CHANNELS);
const vars = model.weights.list();
const adam = new Adam(model.weights.names, vars, 1e-3);
const input = features(batch, 1); // [B, 64, 2048]
const caps = captions(batch, 2); // [B, 12]
const vocab = Vocabulary.fromJSON({
  words: ['<pad>', '<start>', '<end>', '<unk>', ...Array.from({ length: VOCAB - 4 }, (_, i) => `w${i}`)],
  maxLength: DECODE_TOKENS + 1,
});
if (values.what !== 'train') {
  // as in bench/ours.ts: <end> never wins, so every caption has exactly 20 tokens
  const bias = model.weights.get('decoder/fc2/bias');
  tf.tidy(() => bias.assign(tf.add(bias, tf.oneHot([END], VOCAB).reshape([VOCAB]).mul(-1e4))));
}
const frozen = values.what === 'train' ? undefined : freezeStepWeights(model); // as served
const step = async () => {
  if (values.what !== 'train') {
    await decodeBatch(
      model,
      vocab,
      input,
      { method: values.what as 'greedy' | 'beam', beamWidth: 3, maxLength: DECODE_TOKENS + 1 },
      undefined,
      frozen,
    );
    return;
  }
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(input, caps), vars);
    adam.apply(
      vars.map((v) => grads[v.name]),
      5,
    );
    return value.dataSync()[0];
  });
};
await step();
await step();
const t0 = performance.now();
await step();
const wall = performance.now() - t0;
const profile = await tf.profile(async () => void (await step()));

function top(key: (k: (typeof profile.kernels)[number]) => string, n: number): string[] {
  const acc = new Map<string, { ms: number; calls: number }>();
  for (const k of profile.kernels) {
    const e = acc.get(key(k)) ?? { ms: 0, calls: 0 };
    e.ms += Number(k.kernelTimeMs);
    e.calls++;
    acc.set(key(k), e);
  }
  return [...acc]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, n)
    .map(([name, e]) => `${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)}× ${name}`);
}

const kernelMs = profile.kernels.reduce((sum, k) => sum + Number(k.kernelTimeMs), 0);
console.log(
  `${info.name} (${info.threads} thread(s)), ${values.what} batch ${batch}: ${wall.toFixed(1)} ms wall, ${profile.kernels.length} kernels, ` +
    `${kernelMs.toFixed(1)} ms in kernels (nested ops counted twice)${values.off ? `; native parts off: ${values.off}` : ''}`,
);
console.log(`\nby kernel:\n${top((k) => k.name, 15).join('\n')}`);
console.log(`\nby kernel and input shapes:\n${top((k) => `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`, 25).join('\n')}`);
tf.dispose([input, caps]);
adam.dispose();
frozen?.dispose();
model.dispose();
