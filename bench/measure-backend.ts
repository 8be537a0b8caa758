// Child process of bench/run.ts: measures our rows on one backend configuration (a fresh process
// each, since tfjs-backend-wasm initialises once per process) and prints one JSON line.
//   tsx bench/measure-backend.ts <config> <runs> <row,row,…> [median|min] [training|caption]
//   the last: whose default threads fill those the config does not name (./config.ts)
//   config: wasm|wasm:THREADS|wasm+openblas[:THREADS[:BLAS_THREADS]]|cpu|tensorflow|tensorflow-gpu
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { loadNativeKernels } from '../src/ml/kernels/native-addon.ts';
import { parseBenchConfig } from './config.ts';
import { measureOurs } from './ours.ts';
import { ROWS, type RowName } from './rows.ts';
import type { BackendRun } from './table.ts';

const [config, runsArg, rowsArg, statArg, roleArg] = process.argv.slice(2);
const bench = parseBenchConfig(config, roleArg === 'caption' ? 'caption' : 'training');
const rows = rowsArg.split(',').filter((r): r is RowName => (ROWS as readonly string[]).includes(r));
const info = await initBackend(bench.backend, { ...nativeBackendOptions(), ...bench.options });
if (info.name !== bench.expectName) {
  console.log(JSON.stringify({ skipped: `${config}: unavailable (${info.notes.join('; ')})` }));
} else {
  const native = bench.options.nativeKernels ? loadNativeKernels() : null;
  const blas = native != null && 'kernels' in native ? ` (BLAS ${native.kernels.threads})` : '';
  const run: BackendRun = {
    backend: info.name + blas,
    threads: info.threads,
    times: await measureOurs(rows, Number(runsArg), statArg === 'min' ? 'min' : 'median'),
  };
  if (info.notes.length > 0) run.note = info.notes.join('; ');
  console.log(JSON.stringify(run));
}
