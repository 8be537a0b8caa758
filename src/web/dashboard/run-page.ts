// "#/runs/<id>": one run with its live loss chart, fed by the trainingProgress subscription.
import { subscribe } from './api.ts';
import { h } from './dom.ts';
import { drawLossChart, type LossSeries } from './loss-chart.ts';

interface ProgressEvent {
  kind: 'BATCH' | 'EPOCH' | 'STATUS';
  step: number;
  epoch: number;
  loss: number | null;
  valLoss: number | null;
  status: string;
  error: string | null;
}

const PROGRESS = `subscription Progress($runId: ID!) { trainingProgress(runId: $runId) { kind step epoch loss valLoss status error } }`;

/** Renders the page; returns a function that stops its subscription. */
export function renderRunPage(root: HTMLElement, runId: string): () => void {
  const series: LossSeries = { batches: [], validation: [] };
  const status = h('span', { class: 'status' }, '…');
  const stepText = h('span', {}, '');
  const toggle = h('input', { type: 'checkbox', id: 'smoothing' }) as HTMLInputElement;
  const canvas = h('canvas', { width: '900', height: '360', class: 'loss-chart' }) as HTMLCanvasElement;
  const redraw = () => drawLossChart(canvas, series, toggle.checked);
  toggle.addEventListener('change', redraw);
  root.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← all runs')),
    h('h1', {}, `Run ${runId.slice(0, 8)}`),
    h('p', {}, 'Status: ', status, ' · step ', stepText),
    h('label', {}, toggle, ' smoothing'),
    canvas,
  );
  redraw();
  return subscribe<{ trainingProgress: ProgressEvent }>(
    PROGRESS,
    { runId },
    ({ trainingProgress: e }) => {
      if (e.kind === 'BATCH' && e.loss !== null) series.batches.push([e.step, e.loss]);
      if (e.kind === 'EPOCH' && e.valLoss !== null) series.validation.push([e.step, e.valLoss]);
      status.textContent = e.error ? `${e.status}: ${e.error}` : e.status;
      status.className = `status ${e.status.toLowerCase()}`;
      stepText.textContent = String(e.step);
      redraw();
    },
    (error) => {
      status.textContent = `error: ${error.message}`;
    },
  );
}
