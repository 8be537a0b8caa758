// Child process of bench/run.ts: measures our rows on one backend configuration (a fresh process
// each, since tfjs-backend-wasm initialises once per process) and prints one JSON line.
//   tsx bench/measure-backend.ts <wasm|wasm:THREADS|cpu|tensorflow|tensorflow-gpu> <runs> <row,row,…>
import { initBackend } from '../src/ml/backend.ts';
import { measureOurs } from './ours.ts';
import { ROWS, type RowName } from './rows.ts';
import type { BackendRun } from './table.ts';

const [config, runsArg, rowsArg] = process.argv.slice(2);
const [backend, threadsArg] = config.split(':');
const rows = rowsArg.split(',').filter((r): r is RowName => (ROWS as readonly string[]).includes(r));
const info = await initBackend(backend, { wasmThreads: threadsArg ? Number(threadsArg) : 1 });
if (info.name !== backend) {
  console.log(JSON.stringify({ skipped: `${config}: unavailable (${info.notes.join('; ')})` }));
} else {
  const run: BackendRun = { backend: info.name, threads: info.threads, times: await measureOurs(rows, Number(runsArg)) };
  if (info.notes.length > 0) run.note = info.notes.join("; ");
  console.log(JSON.stringify(run));
}
