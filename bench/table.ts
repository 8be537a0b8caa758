// Side-by-side table: backend, threads, row, ours ms, torch ms, ratio (ours / torch).
import { ROWS, type RowTimes } from './rows.ts';

export interface BackendRun {
  backend: string;
  threads: number;
  times: RowTimes;
  /** why some rows are missing, e.g. "cpu: training rows skipped (tens of seconds per step)" */
  note?: string;
}

const fmt = (ms: number | undefined) => (ms == null ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

export function sideBySide(runs: readonly BackendRun[], torch: RowTimes | null): string {
  const header = ['backend', 'threads', 'row', 'ours ms', 'torch ms', 'ratio'];
  const body: string[][] = [];
  for (const run of runs) {
    for (const row of ROWS) {
      const ours = run.times[row];
      if (ours == null) continue;
      const ref = torch?.[row];
      body.push([run.backend, String(run.threads), row, fmt(ours), fmt(ref), ref == null ? '—' : (ours / ref).toFixed(2)]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 3 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}
