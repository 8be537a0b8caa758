// Runs bench/torch_ref.py with the first Python that can import torch. torch's 2 OpenMP threads
// and OpenBLAS's own pthread pool (2 threads by default) can oversubscribe 2 cores badly on a
// busy machine, so the script runs three times — 2 torch threads with OpenBLAS at its default
// and at 1 thread, and everything on 1 thread — and each row keeps torch's fastest time (the
// comparison most favourable to torch).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROWS, type RowTimes } from './rows.ts';

export interface TorchResult {
  torch: string;
  threads: number;
  blas: string;
  rows: RowTimes;
}

export interface TorchRuns {
  /** label of each configuration → its result */
  configs: { label: string; result: TorchResult }[];
  /** per row, the faster configuration's time */
  best: RowTimes;
}

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_ref.py');

/** GLIMPSE_TORCH_PYTHON, then python3 on PATH, then Debian's /usr/bin/python3. */
export function findTorchPython(): string | null {
  const candidates = [process.env.GLIMPSE_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return null;
}

function runOnce(python: string, threads: number, quick: boolean, env: NodeJS.ProcessEnv, min: boolean): TorchResult {
  const args = [SCRIPT, '--threads', String(threads), ...(quick ? ['--quick'] : []), ...(min ? ['--min'] : [])];
  const out = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, ...env } });
  if (out.status !== 0) throw new Error(`torch_ref.py failed (${out.status}): ${out.stderr.trim().split('\n').pop()}`);
  const lines = out.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as TorchResult;
}

export function runTorch(python: string, threads: number, quick: boolean, min = false): TorchRuns {
  const configs = [
    { label: `torch ${threads} threads, OpenBLAS default threads`, env: {} },
    { label: `torch ${threads} threads, OPENBLAS_NUM_THREADS=1`, env: { OPENBLAS_NUM_THREADS: '1' } },
    { label: 'torch 1 thread, OPENBLAS_NUM_THREADS=1', env: { OPENBLAS_NUM_THREADS: '1' }, threads: 1 },
  ].map(({ label, env, threads: t }) => ({ label, result: runOnce(python, t ?? threads, quick, env, min) }));
  const best: RowTimes = {};
  for (const row of ROWS) {
    const times = configs.map((c) => c.result.rows[row]).filter((t): t is number => t != null);
    if (times.length > 0) best[row] = Math.min(...times);
  }
  return { configs, best };
}
