// `npx tsx bench/blas-threads.ts [--threads 2] [--runs 9]`: where a second OpenBLAS thread starts to gain.
// The matrix products of a training step and of decoding (m rows of the batch or of all steps, the
// reference model's n and k, bench/shapes.ts) through the native kernels, each timed (median of
// --runs) on one OpenBLAS thread and on --threads, with m·n·k: DEFAULT_BLAS_PARALLEL_MIN
// (src/ml/kernels/native-addon.ts) is the size from which the threaded product wins.
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { loadNativeKernels } from '../src/ml/kernels/native-addon.ts';
import { medianMs } from './timing.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, runs: { type: 'string', default: '9' } } });
const threads = Number(values.threads);
const runs = Number(values.runs);
const info = await initBackend('wasm', { ...nativeBackendOptions(), wasmThreads: 1, nativeKernels: true });
if (!info.name.endsWith('+openblas')) throw new Error(`the native kernels are not loaded: ${info.notes.join('; ')}`);
const native = loadNativeKernels();
if (!('kernels' in native)) throw new Error(native.reason);

// [m, n, k]: per-step products of 16 and 64 rows, the batched ones over all steps, the encoder's
const SHAPES: [number, number, number][] = [
  [16, 2048, 512],
  [16, 1536, 256],
  [64, 2048, 512],
  [64, 1536, 256],
  [192, 512, 512],
  [192, 1000, 512],
  [512, 2048, 16],
  [512, 2048, 64],
  [768, 1000, 512],
  [1024, 256, 2048],
  [4096, 256, 2048],
];

const at = (n: number) => (n === 1 ? native.kernels.addon.setThreads(1, 0) : native.kernels.addon.setThreads(n, 0));
console.log(`# ${new Date().toISOString()} ${os.cpus()[0]?.model} ×${os.availableParallelism()}, load ${os.loadavg()[0].toFixed(2)}`);
console.log(`| m | n | k | m·n·k | 1 thread ms | ${threads} threads ms | ratio |`);
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const [m, n, k] of SHAPES) {
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2);
  const time = async (t: number) => {
    at(t);
    return medianMs(() => tf.tidy(() => tf.matMul(a, b).dataSync()), 3, runs);
  };
  // alternate, so a change of load hits both
  const one = Math.min(await time(1), await time(1));
  const many = Math.min(await time(threads), await time(threads));
  console.log(
    `| ${m} | ${n} | ${k} | ${(m * n * k).toExponential(2)} | ${one.toFixed(3)} | ${many.toFixed(3)} | ${(many / one).toFixed(2)} |`,
  );
  tf.dispose([a, b]);
}
