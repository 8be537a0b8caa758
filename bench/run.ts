// `npm run bench`: our training step and caption latency on every available backend, side by
// side with the PyTorch reference (bench/torch_ref.py) on the same machine, in one run.
// Each backend configuration runs in its own process, one after the other, then torch.
//   --quick             fewer repetitions
//   --backends a,b      configurations (default: tensorflow-gpu,tensorflow,wasm,wasm:2,wasm+openblas,
//                       wasm+openblas:2,cpu; wasm:N = wasm with N XNNPACK threads, products on XNNPACK;
//                       wasm+openblas[:N[:B]] = products on the native kernels with B OpenBLAS threads)
//   --full-cpu          also run the training and batch-16 rows on `cpu` (tens of seconds each)
//   --no-torch          skip the PyTorch side
//   --min               fastest run per row (both sides) instead of the median: for a busy machine
//   --cpus N            the whole bench (ours and torch) pinned to the first N CPUs (taskset): the scaling
//                       table's rows; the worker's defaults follow the affinity (src/process/cpu-budget.ts)
//   --busy N            N other processes each keep one core busy (a spinning loop) while it measures: the
//                       loaded-machine check
//   Both sides use the same OpenBLAS kernels: OPENBLAS_CORETYPE, where unset, is set from the CPU
//   flags for every child (Debian's OpenBLAS 0.3.21 otherwise runs its slowest kernels on new CPUs).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { prepareOpenBlasCore } from '../src/jobs/native-env.ts';
import { measure, spin } from './children.ts';
import { CHEAP_ROWS, ROWS, type RowTimes } from './rows.ts';
import { sideBySide, type BackendRun } from './table.ts';
import { findTorchPython, runTorch } from './torch.ts';

const TORCH_THREADS = 2;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'tensorflow-gpu,tensorflow,wasm,wasm:2,wasm+openblas,wasm+openblas:2,cpu' },
    'full-cpu': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    min: { type: 'boolean', default: false },
    cpus: { type: 'string' },
    busy: { type: 'string' },
  },
});

// --cpus: run this same command again under taskset (every child inherits the affinity)
if (values.cpus !== undefined && process.env.BENCH_PINNED_CPUS === undefined) {
  const n = Number(values.cpus);
  if (!Number.isInteger(n) || n < 1 || n > os.availableParallelism()) {
    console.error(`--cpus must be a whole number from 1 to ${os.availableParallelism()}`);
    process.exit(2);
  }
  const cpuList = n === 1 ? '0' : `0-${n - 1}`;
  console.error(`pinned to CPUs ${cpuList} (taskset)`);
  const pinned = spawnSync('taskset', ['-c', cpuList, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED_CPUS: cpuList },
  });
  process.exit(pinned.status ?? 1);
}

// --busy: spinning processes for the loaded-machine rows, stopped when the bench ends
const spinners = spin(Number(values.busy ?? 0));
const stopSpinners = () => {
  for (const s of spinners) s.kill('SIGKILL');
};
if (spinners.length > 0) console.error(`${spinners.length} busy process(es) spinning while it measures`);

const runs = values.quick ? 3 : 7;
const coreNote = prepareOpenBlasCore(); // before any child starts: they inherit it
console.error(`OpenBLAS core for ours and torch: ${coreNote ?? 'OpenBLAS default'}`);
const results: BackendRun[] = [];
for (const config of values.backends.split(',')) {
  const cheapOnly = config === 'cpu' && !values['full-cpu'];
  const rows = cheapOnly ? CHEAP_ROWS : ROWS;
  console.error(`measuring ${config}: ${rows.join(', ')}`);
  const run = measure(config, rows, runs, values.min ? 'min' : 'median');
  if (run == null) continue;
  if (cheapOnly) run.note = 'cpu: training and batch-16 rows skipped (stock cpu kernels, tens of seconds; --full-cpu runs them)';
  results.push(run);
}

let torchRows: RowTimes | null = null;
if (values['no-torch']) {
  console.error('torch: skipped (--no-torch)');
} else {
  const python = findTorchPython();
  if (python == null) {
    console.error(
      'torch: no Python with torch found (apt install python3-torch libopenblas0-pthread, or set GLIMPSE_TORCH_PYTHON); torch columns left empty',
    );
  } else {
    console.error(`measuring torch with ${python}, ${TORCH_THREADS} threads`);
    const torch = runTorch(python, TORCH_THREADS, values.quick, values.min);
    const first = torch.configs[0].result;
    console.log(`torch ${first.torch}, BLAS: ${first.blas}`);
    for (const { label, result } of torch.configs) {
      console.log(
        `${label}: ${Object.entries(result.rows)
          .map(([row, ms]) => `${row} ${ms.toFixed(1)} ms`)
          .join(', ')}`,
      );
    }
    console.log('torch ms below = the fastest of these, per row');
    torchRows = torch.best;
  }
}

console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `CPUs: ${process.env.BENCH_PINNED_CPUS ? `pinned to ${process.env.BENCH_PINNED_CPUS}` : 'all'}; busy processes: ${spinners.length}`,
);
stopSpinners();
console.log(
  `${values.min ? 'fastest' : 'median'} of ${runs} runs per training row, ${runs * 2} per decoding row; OpenBLAS core: ${process.env.OPENBLAS_CORETYPE ?? 'default'}`,
);
console.log(sideBySide(results, torchRows));
for (const r of results) if (r.note) console.log(`note: ${r.note}`);
