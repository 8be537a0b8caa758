// `npx tsx bench/interleave.ts [--wasm-threads 1] [--reps 9] [--rows "train step b16,greedy 20 b1"]`:
// on a busy machine, compares the products' paths in ONE process, alternating them step by step
// so that they see the same load: XNNPACK (native off), the native kernels with 1 OpenBLAS thread,
// and with 2. Prints the fastest and the median of each (ms). The wasm thread count is fixed per
// process (run once per --wasm-threads). This is how the default thread counts were chosen. Also
// prints the median CPU time of this process per run (user + system; with one wasm and one OpenBLAS
// thread, the time on a core: less swayed by other processes than the wall time).
// `--variants step`: the native kernels (1 OpenBLAS thread) with the optimiser, the attention scores
// and the recurrence's weight gradients as before (tfjs' Adam and clip, the tfjs ops, one product
// per step), then with the native Adam, + the fused attention, + StepProducts, + the fused GRU cell,
// + the fused attention weights, + the whole teacher-forced recurrence in one call, one by one.
// `--variants recurrence`: the last two alone (the recurrence step by step with every fused kernel,
// and in one native call). `--variants recurrence-threads`: the whole recurrence on 1 thread, and with
// its sequences split over 2 threads (the OpenBLAS products kept on 1).
// `--variants decode`: decoding with the fused GRU cell and attention weights (the step's other ops as
// tfjs kernels), against the whole step as one native call (native/decode_step.c), both with the
// OpenBLAS threads of `npm run bench`'s plain wasm+openblas; also prints the kernels per decode.
// `--variants loss`: the training step (every other native part on) with wasm's stock GatherV2 and
// the tfjs cross-entropy, + the row-copy GatherV2, + the fused cross-entropy (issue 24).
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { DEFAULT_BLAS_PARALLEL_MIN, loadNativeKernels } from '../src/ml/kernels/native-addon.ts';
import { setNativeKernels, setNativePart } from '../src/ml/kernels/native-kernel.ts';
import { setFastGather } from '../src/ml/kernels/wasm-gather.ts';
import { setStepProducts } from '../src/ml/model/step-products.ts';
import { Adam } from '../src/ml/optimizer.ts';
import { parseBenchConfig } from './config.ts';
import { decodeRunner, referenceModel, trainStepRunner, vocabulary, type Runner } from './ours.ts';
import { ROWS, type RowName } from './rows.ts';

const { values } = parseArgs({
  options: {
    'wasm-threads': { type: 'string', default: '1' },
    reps: { type: 'string', default: '9' },
    rows: { type: 'string', default: 'train step b16,train step b64,greedy 20 b1,greedy 20 b16' },
    variants: { type: 'string', default: 'blas' },
  },
});
const info = await initBackend('wasm', {
  ...nativeBackendOptions(),
  wasmThreads: Number(values['wasm-threads']),
  nativeKernels: true,
});
const native = loadNativeKernels();
if (!('kernels' in native)) throw new Error(native.reason);
const { addon } = native.kernels;
const withAdam =
  (adam: boolean, attention = false, stepProducts = false, gru = false, softmax = false, recurrence = false) =>
  () => {
    setNativeKernels(true);
    setStepProducts(stepProducts);
    addon.setThreads(1);
    setNativePart('optimizer', adam); // off: the optimiser is tfjs'
    setNativePart('attention', attention); // off: attend() uses the tfjs ops
    setNativePart('gru', gru); // off: gruCell() uses the tfjs ops
    setNativePart('attention-softmax', softmax); // off: tf.softmax after the scores
    setNativePart('recurrence', recurrence); // off: the recurrence step by step
  };
// the OpenBLAS threads of plain `wasm+openblas` in `npm run bench` (a training worker's default here)
const benchBlasThreads = parseBenchConfig('wasm+openblas').options.blasThreads ?? 1;
const decodeStep = (on: boolean) => () => {
  setNativeKernels(true);
  addon.setThreads(benchBlasThreads, DEFAULT_BLAS_PARALLEL_MIN);
  setNativePart('decode-step', on); // off: the step's ops as tfjs kernels (GRU cell, attention weights fused)
};
const lossStep = (gather: boolean, crossEntropy: boolean) => () => {
  setNativeKernels(true);
  addon.setThreads(benchBlasThreads, DEFAULT_BLAS_PARALLEL_MIN);
  setFastGather(gather); // off: wasm's stock GatherV2
  setNativePart('cross-entropy', crossEntropy); // off: logSoftmax, oneHot, Multiply, Sum
};
const lossVariants = [
  { name: 'stock gather, tfjs loss', set: lossStep(false, false) },
  { name: '+ row gather', set: lossStep(true, false) },
  { name: '+ fused cross-entropy', set: lossStep(true, true) },
];
const otherVariants: { name: string; set: () => void }[] =
  values.variants === 'decode'
    ? [
        { name: `step as tfjs kernels (BLAS ${benchBlasThreads})`, set: decodeStep(false) },
        { name: `step as one native call (BLAS ${benchBlasThreads})`, set: decodeStep(true) },
      ]
    : values.variants === 'step'
      ? [
          { name: 'native, tfjs Adam', set: withAdam(false) },
          { name: 'native, native Adam', set: withAdam(true) },
          { name: '+ fused attention', set: withAdam(true, true) },
          { name: '+ step products', set: withAdam(true, true, true) },
          { name: '+ fused GRU cell', set: withAdam(true, true, true, true) },
          { name: '+ fused attention weights', set: withAdam(true, true, true, true, true) },
          { name: '+ whole recurrence', set: withAdam(true, true, true, true, true, true) },
        ]
      : values.variants === 'recurrence-threads'
        ? [
            { name: 'whole recurrence, 1 thread', set: withAdam(true, true, true, true, true, true) },
            {
              // the recurrence's sequences in 2 parts on 2 threads; every OpenBLAS product still on 1
              name: 'whole recurrence, sequences on 2 threads',
              set: () => (withAdam(true, true, true, true, true, true)(), addon.setThreads(2, Number.MAX_VALUE)),
            },
          ]
        : values.variants === 'recurrence'
          ? [
              { name: 'step by step', set: withAdam(true, true, true, true, true, false) },
              { name: 'whole recurrence', set: withAdam(true, true, true, true, true, true) },
            ]
          : [
              { name: 'xnnpack', set: () => setNativeKernels(false) }, // (Adam, attention, StepProducts of the native rows: as built)
              { name: 'native, BLAS 1', set: () => (setNativeKernels(true), addon.setThreads(1)) },
              { name: 'native, BLAS 2', set: () => (setNativeKernels(true), addon.setThreads(2)) },
              {
                name: `native, BLAS 2 from ${DEFAULT_BLAS_PARALLEL_MIN} multiply-adds`,
                set: () => (setNativeKernels(true), addon.setThreads(2, DEFAULT_BLAS_PARALLEL_MIN)),
              },
            ];
const variants = values.variants === 'loss' ? lossVariants : otherVariants;
const rows = values.rows.split(',').filter((r): r is RowName => (ROWS as readonly string[]).includes(r));
const reps = Number(values.reps);
console.log(
  `${info.name}, wasm threads ${info.threads}, ${reps} alternations per row; load average at start ${os.loadavg()[0].toFixed(1)}`,
);

const model = referenceModel(7, false);
const decoder = referenceModel(7, true);
const adam = new Adam(model.weights.names, model.weights.list(), 1e-3);
const vocab = vocabulary();
for (const row of rows) {
  const batch = Number(row.slice(row.lastIndexOf('b') + 1));
  const runner: Runner = row.startsWith('train')
    ? trainStepRunner(model, adam, batch)
    : decodeRunner(decoder, vocab, batch, row.startsWith('greedy') ? 'greedy' : 'beam');
  const times = variants.map(() => [] as number[]);
  const cpu = variants.map(() => [] as number[]); // this process's CPU ms (user + system): less swayed by load than wall time
  for (const v of variants) {
    v.set();
    await runner.run(); // warm-up per variant
  }
  for (let r = 0; r < reps; r++) {
    for (const [i, v] of variants.entries()) {
      v.set();
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await runner.run();
      times[i].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[i].push((c.user + c.system) / 1000);
    }
  }
  // decoding variants: the kernels one decode launches too (tf.profile, after the timed runs)
  const kernels: string[] = [];
  if (values.variants === 'decode') {
    for (const v of variants) {
      v.set();
      kernels.push(` ${(await tf.profile(async () => void (await runner.run()))).kernels.length} kernels`);
    }
  }
  const cells = variants.map((v, i) => {
    const sorted = [...times[i]].sort((a, b) => a - b);
    const cpuMedian = [...cpu[i]].sort((a, b) => a - b)[cpu[i].length >> 1];
    return `${v.name}: min ${sorted[0].toFixed(1)} median ${sorted[sorted.length >> 1].toFixed(1)} (CPU median ${cpuMedian.toFixed(1)})${kernels[i] ?? ''}`;
  });
  console.log(`${row.padEnd(15)} ${cells.join(' | ')}   (load ${os.loadavg()[0].toFixed(1)})`);
  tf.dispose(runner.inputs);
  runner.dispose?.();
}
adam.dispose();
model.dispose();
decoder.dispose();
