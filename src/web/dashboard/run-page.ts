// "#/runs/<id>": one run with its live loss chart, its numbers (epoch, step, examples/s, elapsed, ETA)
// and a row per finished epoch (run-stats.ts). The chart starts from the stored history, downsampled
// by the API (lossCurve: at most CURVE_POINTS points however long the run, spikes kept) with the epoch
// summaries, then follows trainingProgress from the last step it has; a dropped socket resumes from
// the step the chart stands at, never from 0, and a step is charted once. (The stream restarts one
// step back: an epoch's summary comes after its last batch, so one that ended on that step is not lost;
// that batch is dropped as already charted.)
import { query, subscribe } from './api.ts';
import { h } from './dom.ts';
import { drawLossChart, type LossSeries } from './loss-chart.ts';
import { type EpochRow, runStats } from './run-stats.ts';

interface ProgressEvent {
  kind: 'BATCH' | 'EPOCH' | 'STATUS';
  step: number;
  epoch: number;
  loss: number | null;
  valLoss: number | null;
  examplesPerSec: number | null;
  bleu4: number | null;
  objectF1: number | null;
  exactRate: number | null;
  status: string;
  error: string | null;
}

const PROGRESS = `subscription Progress($runId: ID!, $sinceStep: Int) { trainingProgress(runId: $runId, sinceStep: $sinceStep) { kind step epoch loss valLoss examplesPerSec bleu4 objectF1 exactRate status error } }`;
const CURVE_POINTS = 1200; // the lowest and highest of a slice about 1.4 pixel columns wide (812 px plot)
// (the operations spell their fields out: test/web/operations.test.ts validates each text against the schema)
const HISTORY = `query History($id: ID!, $points: Int!) { trainingRun(id: $id) { lossCurve(maxPoints: $points) { step epoch loss examplesPerSec } epochs { epoch step trainLoss valLoss bleu4 objectF1 exactRate } } }`;
const EPOCHS = `query Epochs($id: ID!) { trainingRun(id: $id) { epochs { epoch step trainLoss valLoss bleu4 objectF1 exactRate } } }`;
const RUN = `query Run($id: ID!) { trainingRun(id: $id) { dataset { name } config { epochs batchSize units embeddingDim vocabSize learningRate backbone patience } model { id } parentModel { id name } stopReason } }`;
const CANCEL = `mutation Cancel($id: ID!) { cancelTraining(id: $id) { status } }`;
const RESUME = `mutation Resume($id: ID!) { resumeTraining(id: $id) { status } }`;

const CANCELLABLE = new Set(['QUEUED', 'RUNNING']);
const RESUMABLE = new Set(['FAILED', 'CANCELLED']);
const DELETABLE = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const DELETE = `mutation Delete($id: ID!) { deleteTrainingRun(id: $id) }`;

/** Renders the page; returns a function that stops its subscription. */
export function renderRunPage(root: HTMLElement, runId: string): () => void {
  const opened = performance.now();
  const series: LossSeries = { batches: [], validation: [] };
  const status = h('span', { class: 'status' }, '…');
  const stepText = h('span', {}, '');
  const toggle = h('input', { type: 'checkbox', id: 'smoothing' }) as HTMLInputElement;
  const canvas = h('canvas', { width: '900', height: '360', class: 'loss-chart' }) as HTMLCanvasElement;
  const cancel = h('button', { class: 'cancel', disabled: '' }, 'Cancel') as HTMLButtonElement;
  const resume = h('button', { class: 'resume', disabled: '' }, 'Resume') as HTMLButtonElement;
  const remove = h(
    'button',
    { class: 'delete', disabled: '', title: 'delete the run, its loss curve and checkpoints (its model stays)' },
    'Delete',
  ) as HTMLButtonElement;
  const message = h('span', { class: 'error' });
  const about = h('p', { class: 'run-about' });
  const stats = runStats(runId, (error) => (message.textContent = error.message));
  const draw = () => drawLossChart(canvas, series, toggle.checked);
  // at most one chart drawing per frame: a finished run's history arrives as one event per batch
  let drawing = false;
  const redraw = () => {
    if (drawing) return;
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      draw();
    });
  };
  toggle.addEventListener('change', draw);
  root.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← all runs')),
    h('h1', {}, `Run ${runId.slice(0, 8)}`),
    h('p', {}, 'Status: ', status, ' · step ', stepText),
    about,
    stats.elements[0]!,
    h('p', {}, cancel, ' ', resume, ' ', remove, ' ', message),
    h('label', {}, toggle, ' smoothing'),
    canvas,
    ...stats.elements.slice(1),
  );
  redraw();

  /** dataset and hyper-parameters; once the run SUCCEEDED, a link to caption with its model */
  const describe = async () => {
    type Run = {
      dataset: { name: string };
      config: Record<string, number> & { backbone: string | null };
      model: { id: string } | null;
      parentModel: { id: string; name: string } | null;
      stopReason: string | null;
    };
    const { trainingRun: run } = await query<{ trainingRun: Run }>(RUN, { id: runId });
    const { epochs, batchSize, units, embeddingDim, vocabSize, learningRate, backbone, patience } = run.config;
    stats.setEpochs(epochs);
    about.replaceChildren(
      `${run.dataset.name} · ${epochs} epochs · batch ${batchSize} · GRU ${units} · embedding ${embeddingDim} · vocabulary ${vocabSize} · lr ${learningRate}` +
        (backbone ? ` · backbone ${backbone}` : '') +
        (patience ? ` · early stopping after ${patience} epochs without a better validation loss` : '') +
        (run.parentModel ? ` · fine-tuned from ${run.parentModel.name}` : '') +
        (run.stopReason ? ` · stopped: ${run.stopReason}` : ''),
      ...(run.model ? [' · ', h('a', { href: `#/caption/${run.model.id}`, class: 'model-link' }, 'caption with its model →')] : []),
    );
  };
  let shown = '';
  const showStatus = (runStatus: string, error: string | null) => {
    if (runStatus === 'SUCCEEDED' && shown !== runStatus) describe().catch((e: Error) => (message.textContent = e.message));
    if (shown !== runStatus) stats.refresh();
    shown = runStatus;
    status.textContent = error ? `${runStatus}: ${error}` : runStatus;
    status.className = `status ${runStatus.toLowerCase()}`;
    cancel.disabled = !CANCELLABLE.has(runStatus);
    resume.disabled = !RESUMABLE.has(runStatus);
    remove.disabled = !DELETABLE.has(runStatus);
  };
  /** the newest step charted: the stream (re)starts after it */
  let lastStep = 0;
  const epochsShown = new Set<number>();
  const addEpoch = (row: EpochRow) => {
    if (epochsShown.has(row.epoch)) return;
    epochsShown.add(row.epoch);
    if (row.valLoss !== null) series.validation.push([row.step, row.valLoss]);
    stats.epoch(row);
  };
  const addBatch = (step: number, epoch: number, loss: number | null, examplesPerSec: number | null) => {
    if (step <= lastStep) return; // never two points for one step
    lastStep = step;
    if (loss !== null) series.batches.push([step, loss]);
    stats.batch(epoch, step, examplesPerSec);
    stepText.textContent = String(step);
  };
  type Summary = Omit<EpochRow, 'loss'> & { trainLoss: number | null };
  const addEpochs = (epochs: Summary[]) => {
    for (const e of epochs) addEpoch({ ...e, loss: e.trainLoss });
    redraw();
  };
  /** the stored curve, downsampled by the API, and the epoch summaries */
  const loadHistory = async () => {
    type History = { lossCurve: { step: number; epoch: number; loss: number; examplesPerSec: number }[]; epochs: Summary[] };
    const { trainingRun: run } = await query<{ trainingRun: History }>(HISTORY, { id: runId, points: CURVE_POINTS });
    for (const p of run.lossCurve) addBatch(p.step, p.epoch, p.loss, p.examplesPerSec);
    addEpochs(run.epochs);
    draw();
    // the page opened → its stored curve on the canvas (DevTools timeline; test/e2e/dashboard-long-run.test.ts)
    performance.measure('glimpse:run-history', { start: opened });
  };
  /** the summaries again once the stream runs: one written between the history's reads and the stream's start */
  const recheckEpochs = () =>
    query<{ trainingRun: { epochs: Summary[] } }>(EPOCHS, { id: runId })
      .then(({ trainingRun: run }) => addEpochs(run.epochs))
      .catch((error: Error) => (message.textContent = error.message));
  let closed = false;
  let unsubscribe = () => {};
  /** events after the last step charted (read again when graphql-ws resubscribes after a drop); the stream completes when the run ends */
  const follow = () => {
    unsubscribe();
    if (closed) return;
    let first = true;
    unsubscribe = subscribe<{ trainingProgress: ProgressEvent }>(
      PROGRESS,
      () => ({ runId, sinceStep: Math.max(0, lastStep - 1) }),
      ({ trainingProgress: e }) => {
        if (first) void recheckEpochs();
        first = false;
        if (e.kind === 'BATCH') addBatch(e.step, e.epoch, e.loss, e.examplesPerSec);
        if (e.kind === 'EPOCH')
          addEpoch({
            epoch: e.epoch,
            step: e.step,
            loss: e.loss,
            valLoss: e.valLoss,
            bleu4: e.bleu4,
            objectF1: e.objectF1,
            exactRate: e.exactRate,
          });
        showStatus(e.status, e.error);
        if (e.kind !== 'BATCH') stepText.textContent = String(e.step);
        redraw();
      },
      (error) => {
        message.textContent = error.message;
      },
    );
  };
  const act = (mutation: string, then: (runStatus: string) => void) => async () => {
    message.textContent = '';
    try {
      const data = await query<Record<string, { status: string }>>(mutation, { id: runId });
      then(Object.values(data)[0]!.status);
    } catch (error) {
      message.textContent = (error as Error).message;
    }
  };
  cancel.addEventListener(
    'click',
    act(CANCEL, (runStatus) => showStatus(runStatus, null)),
  );
  remove.addEventListener('click', async () => {
    if (!confirm(`Delete run ${runId.slice(0, 8)} with its loss curve and checkpoints? Its model, if any, stays.`)) return;
    message.textContent = '';
    try {
      await query(DELETE, { id: runId });
      location.hash = '#/';
    } catch (error) {
      message.textContent = (error as Error).message;
    }
  });
  // a resumed run's stream had completed: follow it again from where the chart stands
  resume.addEventListener(
    'click',
    act(RESUME, (runStatus) => (showStatus(runStatus, null), follow())),
  );
  // the curve first: the dataset and settings (describe) after it, not competing with it
  loadHistory()
    .catch((error: Error) => (message.textContent = error.message))
    .finally(() => {
      follow();
      describe().catch((error: Error) => (message.textContent = error.message));
    });
  return () => {
    closed = true;
    unsubscribe();
  };
}
