// The bench's measuring children (bench/measure-backend.ts, one process per configuration and role) and
// its busy processes, shared by bench/run.ts and bench/loaded.ts.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendRun } from './table.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export type Stat = 'median' | 'min';

/** `n` processes each spinning on one core until killed (also when this process exits) */
export function spin(n: number): ChildProcess[] {
  const spinners = Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  process.on('exit', () => {
    for (const s of spinners) s.kill('SIGKILL');
  });
  return spinners;
}

/** One configuration's rows in one child with a worker role's default threads (where the configuration names none). */
export function measureAs(
  config: string,
  rows: readonly string[],
  runs: number,
  role: 'training' | 'caption',
  stat: Stat,
): BackendRun | null {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'measure-backend.ts'), config, String(runs), rows.join(','), stat, role],
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
export function measure(config: string, rows: readonly string[], runs: number, stat: Stat): BackendRun | null {
  const training = rows.filter((r) => r.startsWith('train'));
  const decoding = rows.filter((r) => !r.startsWith('train'));
  if (config.includes(':') || training.length === 0 || decoding.length === 0) return measureAs(config, rows, runs, 'training', stat);
  const a = measureAs(config, training, runs, 'training', stat);
  const b = measureAs(config, decoding, runs, 'caption', stat);
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
