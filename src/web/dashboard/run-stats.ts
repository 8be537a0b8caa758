// The run page's numbers: epoch, step of total, examples per second (the newest batch), elapsed time
// and ETA (the API's trainingRun estimates, fetched at most every 2 s), and a table with one row per
// finished epoch (train/validation loss, BLEU-4, and the object metrics of synthetic sets).
import { query } from './api.ts';
import { h } from './dom.ts';

export interface EpochRow {
  epoch: number;
  step: number;
  loss: number | null;
  valLoss: number | null;
  bleu4: number | null;
  objectF1: number | null;
  exactRate: number | null;
}

interface Estimates {
  totalSteps: number | null;
  stepsPerSecond: number | null;
  etaSeconds: number | null;
  elapsedSeconds: number | null;
}

const ESTIMATES = `query Estimates($id: ID!) { trainingRun(id: $id) { totalSteps stepsPerSecond etaSeconds elapsedSeconds } }`;
const REFRESH_MS = 2000;

/** "1 h 02 min", "3 min 05 s", "42 s" */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

const num = (v: number | null, digits: number) => (v === null ? '–' : v.toFixed(digits));

export interface RunStats {
  elements: HTMLElement[];
  /** a BATCH event: epoch, step, examples per second */
  batch(epoch: number, step: number, examplesPerSec: number | null): void;
  /** the run's epoch count, once its settings are read */
  setEpochs(epochs: number): void;
  /** an EPOCH event: a table row (once per epoch) */
  epoch(row: EpochRow): void;
  /** fetch the estimates now (status changes) */
  refresh(): void;
}

export function runStats(runId: string, onError: (error: Error) => void): RunStats {
  const line = h('p', { class: 'run-stats' });
  const cells = {
    epoch: h('span', { class: 'epoch' }, '–'),
    step: h('span', { class: 'step' }, '–'),
    speed: h('span', { class: 'speed' }, '–'),
    elapsed: h('span', { class: 'elapsed' }, '–'),
    eta: h('span', { class: 'eta' }, '–'),
  };
  line.append(
    'epoch ',
    cells.epoch,
    ' · step ',
    cells.step,
    ' · ',
    cells.speed,
    ' examples/s · elapsed ',
    cells.elapsed,
    ' · ETA ',
    cells.eta,
  );
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'runs epochs', hidden: '' },
    h(
      'thead',
      {},
      h('tr', {}, ...['epoch', 'step', 'train loss', 'val loss', 'BLEU-4', 'object F1', 'exact objects'].map((t) => h('th', {}, t))),
    ),
    body,
  );
  const seen = new Set<number>();
  let step = 0;
  let epoch = 0;
  let epochs: number | null = null;
  const showEpoch = () => (cells.epoch.textContent = epoch === 0 ? '–' : epochs ? `${epoch}/${epochs}` : String(epoch));
  let estimates: Estimates = { totalSteps: null, stepsPerSecond: null, etaSeconds: null, elapsedSeconds: null };
  let fetchedAt = 0;
  let pending = false;

  const showStep = () => (cells.step.textContent = estimates.totalSteps ? `${step}/${estimates.totalSteps}` : String(step));
  const show = () => {
    showStep();
    cells.elapsed.textContent = estimates.elapsedSeconds === null ? '–' : duration(estimates.elapsedSeconds);
    cells.eta.textContent = estimates.etaSeconds === null ? '–' : duration(estimates.etaSeconds);
  };
  const fetchEstimates = async () => {
    if (pending) return;
    pending = true;
    fetchedAt = Date.now();
    try {
      estimates = (await query<{ trainingRun: Estimates }>(ESTIMATES, { id: runId })).trainingRun;
      show();
    } catch (error) {
      onError(error as Error);
    } finally {
      pending = false;
    }
  };
  void fetchEstimates();

  return {
    elements: [line, table],
    setEpochs(count) {
      epochs = count;
      showEpoch();
    },
    batch(atEpoch, at, examplesPerSec) {
      step = at;
      epoch = atEpoch;
      showEpoch();
      if (examplesPerSec !== null) cells.speed.textContent = examplesPerSec.toFixed(1);
      showStep();
      if (Date.now() - fetchedAt >= REFRESH_MS) void fetchEstimates();
    },
    epoch(row) {
      if (seen.has(row.epoch)) return;
      seen.add(row.epoch);
      table.hidden = false;
      const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(0)} %`);
      body.append(
        h(
          'tr',
          { 'data-epoch': String(row.epoch) },
          ...[
            String(row.epoch),
            String(row.step),
            num(row.loss, 4),
            num(row.valLoss, 4),
            num(row.bleu4, 4),
            num(row.objectF1, 3),
            pct(row.exactRate),
          ].map((t) => h('td', { class: 'num' }, t)),
        ),
      );
    },
    refresh: () => void fetchEstimates(),
  };
}
