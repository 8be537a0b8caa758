// `npm run bench`: our training step and caption latency on every available backend, side by
// side with the PyTorch reference (bench/torch_ref.py) on the same machine, in one run.
//   --quick           fewer repetitions
//   --backends a,b    backends to measure (default: wasm,cpu)
//   --full-cpu        also run the training rows on `cpu` (tens of seconds per step)
//   --no-torch        skip the PyTorch side
import os from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/ml/backend.ts';
import { measureOurs } from './ours.ts';
import { CHEAP_ROWS, ROWS } from './rows.ts';
import { sideBySide, type BackendRun } from './table.ts';
import { findTorchPython, runTorch } from './torch.ts';

const TORCH_THREADS = 2;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'wasm,cpu' },
    'full-cpu': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
  },
});

const runs = values.quick ? 3 : 7;
const results: BackendRun[] = [];
for (const requested of values.backends.split(',')) {
  const info = await initBackend(requested);
  if (info.name !== requested) {
    console.error(`${requested}: unavailable (${info.notes.join('; ')}), skipped`);
    continue;
  }
  const cheapOnly = info.name === 'cpu' && !values['full-cpu'];
  const rows = cheapOnly ? CHEAP_ROWS : ROWS;
  console.error(`measuring ${info.name} (${info.threads} thread(s)): ${rows.join(', ')}`);
  results.push({
    backend: info.name,
    threads: info.threads,
    times: await measureOurs(rows, runs),
    note: cheapOnly ? 'cpu: training and batch-16 rows skipped (stock cpu kernels; pass --full-cpu)' : undefined,
  });
}

let torchRows = null;
if (values['no-torch']) {
  console.error('torch: skipped (--no-torch)');
} else {
  const python = findTorchPython();
  if (python == null) {
    console.error('torch: no Python with torch found (apt install python3-torch libopenblas0, or set GLIMPSE_TORCH_PYTHON); torch columns left empty');
  } else {
    console.error(`measuring torch with ${python}, ${TORCH_THREADS} threads`);
    const torch = runTorch(python, TORCH_THREADS, values.quick);
    console.log(`torch ${torch.torch}, ${torch.threads} threads, BLAS: ${torch.blas}`);
    torchRows = torch.rows;
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`machine: ${cpu}, ${os.availableParallelism()} cores, Node ${process.version}`);
console.log(sideBySide(results, torchRows));
for (const r of results) if (r.note) console.log(`note: ${r.note}`);
