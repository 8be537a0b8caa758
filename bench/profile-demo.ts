// `T=2 npx tsx bench/profile-demo.ts [rounds]`: the default demo model's training step (CNN encoder
// on 64-px images, channels [16, 32, 64] → 8×8 grid, encoderDim 64, embedding 64, GRU 128,
// batch 32, 16 tokens) on wasm+openblas with T XNNPACK threads (default 2). Times the step in three
// modes alternating in one process (under the same load): the native conv kernels (native/conv.c)
// off ('conv' part off: XNNPACK convs, slice-sum filter gradient); only the native filter gradient
// and MaxPoolGrad ('conv2d' part off: convs and input gradient on XNNPACK); all on (+ the native
// forward conv and Conv2DBackpropInput). Then the kernel profile of one step with all on (top 25 by
// name + input shapes).
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { CaptionModel } from '../src/ml/index.ts';
import { setNativePart } from '../src/ml/kernels/native-kernel.ts';
import { Adam, clipByGlobalNorm } from '../src/ml/optimizer.ts';

const info = await initBackend('wasm', { ...nativeBackendOptions(), wasmThreads: Number(process.env.T ?? 2), nativeKernels: true });
const rounds = Number(process.argv[2] ?? 4);
const B = 32;
const T = 16;
const model = CaptionModel.create(
  {
    encoder: { kind: 'cnn', imageSize: 64, channels: [16, 32, 64] },
    gridSize: 8,
    encoderDim: 64,
    embeddingDim: 64,
    units: 128,
    vocabSize: 34,
    maxLength: T,
    attentionLambda: 0,
  },
  1,
);
const vars = model.weights.list();
const adam = new Adam(model.weights.names, vars, 3e-3);
const px = tf.randomUniform([B, 64, 64, 3]) as tf.Tensor4D;
const caps = tf.tensor2d(
  Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 1 : i % T > 12 ? 0 : 4 + (i % 30))),
  [B, T],
  'int32',
);
const step = () =>
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(px, caps), vars);
    adam.apply(
      clipByGlobalNorm(
        vars.map((v) => grads[v.name]),
        5,
      ),
    );
    return value.dataSync()[0];
  });
const timed = (steps: number) => {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (performance.now() - t0) / steps;
};

console.log(
  `${info.name}, ${info.threads} wasm thread(s); load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
type Mode = 'off' | 'grads' | 'on';
const MODES: Mode[] = ['off', 'grads', 'on'];
const LABELS: Record<Mode, string> = {
  off: 'native conv kernels off         ',
  grads: 'native filter grad + MaxPoolGrad',
  on: '+ native forward + input grad   ',
};
const setMode = (mode: Mode) => {
  setNativePart('conv', mode !== 'off');
  setNativePart('conv2d', mode === 'on');
};
const ms: Record<Mode, number[]> = { off: [], grads: [], on: [] };
for (const mode of MODES) {
  setMode(mode);
  step(); // warm-up
}
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < MODES.length; i++) {
    const mode = MODES[(i + r) % MODES.length]; // each mode in each position in turn
    setMode(mode);
    ms[mode].push(timed(3));
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const mode of MODES)
  console.log(
    `${LABELS[mode]}: step ${median(ms[mode]).toFixed(1)} ms (median of ${rounds} × 3 steps: ${ms[mode].map((v) => v.toFixed(0)).join(', ')})`,
  );
// per round: the modes ran back to back, so each round's ratio saw one load
const ratios = ms.on.map((v, r) => v / ms.grads[r]);
console.log(
  `all on / filter grad only: median ${median(ratios).toFixed(2)} (per round ${ratios.map((v) => v.toFixed(2)).join(', ')}); all on / off ${(median(ms.on) / median(ms.off)).toFixed(2)}`,
);
console.log(
  `load after ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

setMode('on');
const profile = await tf.profile(() => void step());
const acc = new Map<string, { ms: number; calls: number }>();
for (const k of profile.kernels) {
  const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`;
  const e = acc.get(key) ?? { ms: 0, calls: 0 };
  e.ms += Number(k.kernelTimeMs);
  e.calls++;
  acc.set(key, e);
}
const total = profile.kernels.reduce((s, k) => s + Number(k.kernelTimeMs), 0);
console.log(`profiled step (native conv kernels all on): kernels ${total.toFixed(1)} ms in all`);
for (const [name, e] of [...acc].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25))
  console.log(`${e.ms.toFixed(1).padStart(8)} ${String(e.calls).padStart(4)}× ${name}`);
