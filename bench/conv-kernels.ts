// `npx tsx bench/conv-kernels.ts [reps]`: the demo CNN's convolutions (bench/profile-demo.ts's
// shapes, batch 32) one at a time on wasm+openblas (1 wasm thread, 1 OpenBLAS thread): the native
// kernels (the 'conv2d' part, native/conv.c) against wasm's (XNNPACK FusedConv2D; the input
// gradient as src/ml/model/conv.ts computes it without them: Reverse + Transpose + Conv2D),
// alternating in one process. Prints the median wall and CPU (user + system) ms per call.
// The machine is shared: prefer many reps (the default 15) over one short run.
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { setNativePart } from '../src/ml/kernels/native-kernel.ts';

await initBackend('wasm', { ...nativeBackendOptions(), wasmThreads: 1, nativeKernels: true });
const reps = Number(process.argv[2] ?? 15);
const LAYERS: [number, number, number][] = [
  [64, 3, 16],
  [32, 16, 32],
  [16, 32, 64],
];

interface Row {
  name: string;
  native: () => tf.Tensor;
  wasm: () => tf.Tensor;
}
const rows: Row[] = [];
for (const [s, cin, cout] of LAYERS) {
  const x = tf.randomUniform([32, s, s, cin]) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, cin, cout]) as tf.Tensor4D;
  const bias = tf.randomNormal([cout]) as tf.Tensor1D;
  const dy = tf.randomNormal([32, s, s, cout]) as tf.Tensor4D;
  const fwd = () => tf.fused.conv2d({ x, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
  rows.push({ name: `FusedConv2D [32,${s},${s},${cin}]×[3,3,${cin},${cout}]`, native: fwd, wasm: fwd });
  if (cin === 3) continue; // the first layer's input gradient is not computed
  rows.push({
    name: `input grad [32,${s},${s},${cout}] → ${cin}`,
    native: () => {
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [32, s, s, cin] };
      return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs) as tf.Tensor;
    },
    wasm: () => tf.conv2d(dy, tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same'),
  });
}

/** [wall, cpu] ms of fn */
function time(fn: () => void): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return [performance.now() - t0, (c.user + c.system) / 1000];
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(
  `load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const row of rows) {
  const res: Record<'native' | 'wasm', [number, number][]> = { native: [], wasm: [] };
  for (let r = 0; r <= reps; r++) {
    for (const mode of r % 2 === 0 ? (['native', 'wasm'] as const) : (['wasm', 'native'] as const)) {
      setNativePart('conv2d', mode === 'native');
      // wasm's kernels and the addon's run synchronously: the call is the work (no dataSync copy of the output)
      const t = time(() => tf.tidy(() => void row[mode]()));
      if (r > 0) res[mode].push(t); // the first round warms up
    }
  }
  const wall = (m: 'native' | 'wasm') => median(res[m].map((t) => t[0]));
  const cpu = (m: 'native' | 'wasm') => median(res[m].map((t) => t[1]));
  console.log(
    `${row.name.padEnd(38)} native ${wall('native').toFixed(1)} / ${cpu('native').toFixed(1)}  wasm ${wall('wasm').toFixed(1)} / ${cpu('wasm').toFixed(1)} ms (wall / cpu)  cpu ratio ${(cpu('native') / cpu('wasm')).toFixed(2)}`,
  );
}
setNativePart('conv2d', true);
