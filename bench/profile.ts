// `npx tsx bench/profile.ts [--batch 16] [--backend wasm]`: one real training step under
// tf.profile, kernels aggregated by name and by name+input shapes (top 25).
// Nested ops (fusedMatMul__op around _FusedMatMul) are counted at both levels.
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/ml/backend.ts';
import { CaptionModel } from '../src/ml/index.ts';
import { Adam, clipByGlobalNorm } from '../src/ml/optimizer.ts';
import { BACKBONE_CHANNELS, captions, features, REFERENCE_CONFIG } from './shapes.ts';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '16' }, backend: { type: 'string', default: 'wasm' } } });
const info = await initBackend(values.backend);
const batch = Number(values.batch);
const model = CaptionModel.create(REFERENCE_CONFIG, 1, BACKBONE_CHANNELS);
const vars = model.weights.list();
const adam = new Adam(model.weights.names, vars, 1e-3);
const input = features(batch, 1); // [B, 64, 2048]
const caps = captions(batch, 2); // [B, 12]
const step = () =>
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(input, caps), vars);
    adam.apply(clipByGlobalNorm(vars.map((v) => grads[v.name]), 5));
    return value.dataSync()[0];
  });
step();
step();
const t0 = performance.now();
step();
const wall = performance.now() - t0;
const profile = await tf.profile(() => void step());

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

console.log(`${info.name} (${info.threads} thread(s)), batch ${batch}: step ${wall.toFixed(0)} ms, ${profile.kernels.length} kernels`);
console.log('\nby kernel:\n' + top((k) => k.name, 15).join('\n'));
console.log('\nby kernel and input shapes:\n' + top((k) => `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`, 25).join('\n'));
tf.dispose([input, caps]);
adam.dispose();
model.dispose();
