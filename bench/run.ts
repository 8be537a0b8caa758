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
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareOpenBlasCore } from '../src/jobs/native-env.ts';
import { CHEAP_ROWS, ROWS, type RowTimes } from './rows.ts';
import { sideBySide, type BackendRun } from './table.ts';
import { findTorchPython, runTorch } from './torch.ts';

const TORCH_THREADS = 2;
const here = path.dirname(fileURLToPath(import.meta.url));

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
const spinners = Array.from({ length: Number(values.busy ?? 0) }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopSpinners = () => {
  for (const s of spinners) s.kill('SIGKILL');
};
process.on('exit', stopSpinners);
if (spinners.length > 0) console.error(`${spinners.length} busy process(es) spinning while it measures`);

function measureAs(config: string, rows: readonly string[], runs: number, role: 'training' | 'caption'): BackendRun | null {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'measure-backend.ts'), config, String(runs), rows.join(','), values.min ? 'min' : 'median', role],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !last.startsWith('{')) {
    console.error(`${config}: measurement failed (exit ${child.status})`);
    return null;
  }
  const parsed = JSON.parse(last) as BackendRun | { skipped: string };
  if ('skipped' in parsed) {
    console.error(parsed.skipped);
    return null;
  }
  return parsed;
}

/**
 * A configuration's rows with a worker's default threads where it names none: the training rows as a training
 * worker runs them, the decoding rows as a caption worker does (`npm start` captions in its caption worker, one
 * thread per batch), each in its own process; with the threads named, every row in one process.
 */
function measure(config: string, rows: readonly string[], runs: number): BackendRun | null {
  const training = rows.filter((r) => r.startsWith('train'));
  const decoding = rows.filter((r) => !r.startsWith('train'));
  if (config.includes(':') || training.length === 0 || decoding.length === 0) return measureAs(config, rows, runs, 'training');
  const a = measureAs(config, training, runs, 'training');
  const b = measureAs(config, decoding, runs, 'caption');
  if (a == null || b == null) return a ?? b;
  const blas = (run: BackendRun) => /\(BLAS (\d+)\)/.exec(run.backend)?.[1];
  const name = a.backend.replace(/ \(BLAS \d+\)$/, '');
  return {
    backend: blas(a) && blas(b) ? `${name} (BLAS ${blas(a)} train, ${blas(b)} decode)` : name,
    threads: a.threads,
    times: { ...a.times, ...b.times },
    ...(a.note ? { note: a.note } : {}),
  };
}

const runs = values.quick ? 3 : 7;
const coreNote = prepareOpenBlasCore(); // before any child starts: they inherit it
console.error(`OpenBLAS core for ours and torch: ${coreNote ?? 'OpenBLAS default'}`);
const results: BackendRun[] = [];
for (const config of values.backends.split(',')) {
  const cheapOnly = config === 'cpu' && !values['full-cpu'];
  const rows = cheapOnly ? CHEAP_ROWS : ROWS;
  console.error(`measuring ${config}: ${rows.join(', ')}`);
  const run = measure(config, rows, runs);
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
