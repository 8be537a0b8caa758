// The loaded-machine check (issue 24): every row with the defaults while N other processes each spin one
// core, against the 1-thread configuration (`wasm+openblas:1:1`, one OpenBLAS thread for every row) on the
// otherwise idle machine, alternated pair by pair so that both see the same drift of a shared VM; medians
// per row and their ratio. No row may be more than 10 % slower loaded than the 1-thread idle time.
// Usage: npx tsx bench/loaded.ts [--pairs 5] [--busy 1] [--runs 3]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { prepareOpenBlasCore } from '../src/jobs/native-env.ts';
import { measure, spin } from './children.ts';
import { ROWS, type RowName } from './rows.ts';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '5' },
    busy: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
  },
});
const pairs = Number(values.pairs);
const busy = Number(values.busy);
const runs = Number(values.runs);
prepareOpenBlasCore();
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const loaded: Partial<Record<RowName, number>>[] = [];
const idle: Partial<Record<RowName, number>>[] = [];
const started = new Date();
for (let p = 0; p < pairs; p++) {
  console.error(`pair ${p + 1}/${pairs}: defaults with ${busy} busy process(es) (load ${load()})`);
  const spinners = spin(busy);
  const a = measure('wasm+openblas', ROWS, runs, 'median');
  for (const s of spinners) s.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  console.error(`pair ${p + 1}/${pairs}: 1 thread, idle (load ${load()})`);
  const b = measure('wasm+openblas:1:1', ROWS, runs, 'median');
  if (a == null || b == null) throw new Error('a measurement failed');
  loaded.push(a.times);
  idle.push(b.times);
}

const median = (v: number[]) => {
  const s = [...v].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
console.log(
  `${started.toISOString().slice(0, 16)} UTC, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} CPUs, Node ${process.version}; ` +
    `${pairs} pairs, ${busy} busy process(es) in the loaded half, median of ${runs} runs per training row, ${runs * 2} per decoding row; load after ${load()}`,
);
console.log(`| | ${ROWS.join(' | ')} |`);
console.log(`|---|${ROWS.map(() => '--:').join('|')}|`);
const row = (label: string, f: (r: RowName) => string) => console.log(`| ${label} | ${ROWS.map(f).join(' | ')} |`);
const med = (runsOf: Partial<Record<RowName, number>>[], r: RowName) => median(runsOf.map((t) => t[r] ?? Number.NaN));
row(`defaults, ${busy} core(s) busy (ms)`, (r) => fmt(med(loaded, r)));
row('1 thread, idle (ms)', (r) => fmt(med(idle, r)));
row('loaded ÷ 1-thread idle', (r) => {
  const ratio = med(loaded, r) / med(idle, r);
  return ratio > 1.1 ? `**${ratio.toFixed(2)}**` : ratio.toFixed(2);
});
row('per pair', (r) => loaded.map((t, i) => ((t[r] ?? Number.NaN) / (idle[i]![r] ?? Number.NaN)).toFixed(2)).join(' '));
