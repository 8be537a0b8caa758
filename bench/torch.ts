// Runs bench/torch_ref.py with the first Python that can import torch.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowTimes } from './rows.ts';

export interface TorchResult {
  torch: string;
  threads: number;
  blas: string;
  rows: RowTimes;
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

export function runTorch(python: string, threads: number, quick: boolean): TorchResult {
  const args = [SCRIPT, '--threads', String(threads), ...(quick ? ['--quick'] : [])];
  const out = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (out.status !== 0) throw new Error(`torch_ref.py failed (${out.status}): ${out.stderr.trim().split('\n').pop()}`);
  const lines = out.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as TorchResult;
}
