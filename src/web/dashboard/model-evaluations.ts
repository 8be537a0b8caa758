// The Models page's evaluations: a form that queues evaluateModel (model, dataset, split, decoding), the
// evaluations of one model or of all (newest first, a page at a time, refreshed while any is unfinished,
// each cancellable), and a compare view: two models' newest finished evaluations side by side, one row per
// dataset + split + split digest (the same images), so two models are only compared on what both scored.
import { type Connection, PAGE_FIELDS, query } from './api.ts';
import { h, select } from './dom.ts';
import { type PageRequest, pagedList } from './paged-list.ts';

export interface EvaluationRow {
  id: string;
  modelId: string;
  datasetId: string;
  dataset: { name: string };
  split: string;
  method: string;
  beamWidth: number;
  status: string;
  done: number;
  total: number | null;
  splitDigest: string | null;
  bleu1: number | null;
  bleu2: number | null;
  bleu3: number | null;
  bleu4: number | null;
  ciderD: number | null;
  objectF1: number | null;
  createdAt: string;
}

const LIST = `query Evaluations($first: Int!, $after: String, $modelId: ID) {
  evaluationsConnection(first: $first, after: $after, modelId: $modelId) { ${PAGE_FIELDS} edges { node {
    id modelId datasetId dataset { name } split method beamWidth status done total splitDigest bleu1 bleu2 bleu3 bleu4 ciderD objectF1 createdAt
  } } } }`;
const OF_MODEL = `query ModelEvaluations($id: ID!) { model(id: $id) { name evaluations(first: 50) {
    id modelId datasetId dataset { name } split method beamWidth status done total splitDigest bleu1 bleu2 bleu3 bleu4 ciderD objectF1 createdAt
  } } }`;
const READY_DATASETS = `query ReadyDatasets { datasetsConnection(first: 100, status: READY) { edges { node { id name } } } }`;
const EVALUATE = `mutation Evaluate($input: EvaluateModelInput!) { evaluateModel(input: $input) { id } }`;
const CANCEL = `mutation CancelEvaluation($id: ID!) { cancelEvaluation(id: $id) { id } }`;

const METRICS = [
  ['bleu1', 'BLEU-1'],
  ['bleu2', 'BLEU-2'],
  ['bleu3', 'BLEU-3'],
  ['bleu4', 'BLEU-4'],
  ['ciderD', 'CIDEr-D'],
  ['objectF1', 'object F1'],
] as const;

const score = (value: number | null) => (typeof value === 'number' ? value.toFixed(4) : '–');
const unfinished = (e: EvaluationRow) => e.status === 'QUEUED' || e.status === 'RUNNING';
const decoding = (e: EvaluationRow) => (e.method === 'BEAM' ? `beam ${e.beamWidth}` : e.method.toLowerCase());
/** what makes two evaluations comparable: the same images (dataset, split, digest) and decoding */
const sameImages = (e: EvaluationRow) => `${e.datasetId}|${e.split}|${e.splitDigest ?? ''}|${decoding(e)}`;

/**
 * For each dataset + split + digest + decoding both models were evaluated on (newest SUCCEEDED of each):
 * the pair. Rows in the order of `a`'s newest first.
 */
export function comparable(a: readonly EvaluationRow[], b: readonly EvaluationRow[]): [EvaluationRow, EvaluationRow][] {
  const newest = (rows: readonly EvaluationRow[]) => {
    const byKey = new Map<string, EvaluationRow>();
    for (const e of rows) if (e.status === 'SUCCEEDED' && !byKey.has(sameImages(e))) byKey.set(sameImages(e), e);
    return byKey;
  };
  const other = newest(b);
  return [...newest(a)].flatMap(([key, e]) => (other.has(key) ? [[e, other.get(key)!] as [EvaluationRow, EvaluationRow]] : []));
}

function evaluationsTable(rows: EvaluationRow[], cancel: (e: EvaluationRow) => HTMLElement): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'no-evaluations' }, 'No evaluations yet.');
  const headings = ['model', 'dataset', 'split', 'decoding', 'status', 'images', ...METRICS.map(([, label]) => label), ''];
  return h(
    'table',
    { class: 'runs evaluations' },
    h('thead', {}, h('tr', {}, ...headings.map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...rows.map((e) =>
        h(
          'tr',
          { 'data-evaluation': e.id },
          h('td', { class: 'model', title: e.modelId }, e.modelId.slice(0, 8)),
          h('td', { class: 'dataset' }, e.dataset.name),
          h('td', { class: 'split', title: e.splitDigest ? `images ${e.splitDigest}` : '' }, e.split),
          h('td', {}, decoding(e)),
          h('td', { class: 'status' }, e.status),
          h('td', { class: 'num' }, `${e.done}/${e.total ?? '?'}`),
          ...METRICS.map(([key]) => h('td', { class: `num ${key}` }, score(e[key]))),
          h('td', {}, unfinished(e) ? cancel(e) : ''),
        ),
      ),
    ),
  );
}

function compareTable(nameA: string, nameB: string, pairs: [EvaluationRow, EvaluationRow][]): HTMLElement {
  if (pairs.length === 0) return h('p', { class: 'compare-none' }, 'These two models have no finished evaluations on the same images yet.');
  return h(
    'table',
    { class: 'runs compare' },
    h('thead', {}, h('tr', {}, ...['dataset', 'split', 'decoding', 'metric', nameA, nameB].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...pairs.flatMap(([a, b]) =>
        METRICS.map(([key, label]) =>
          h(
            'tr',
            { 'data-metric': key },
            h('td', {}, a.dataset.name),
            h('td', {}, a.split),
            h('td', {}, decoding(a)),
            h('td', {}, label),
            h('td', { class: `num a${(a[key] ?? -1) > (b[key] ?? -1) ? ' better' : ''}` }, score(a[key])),
            h('td', { class: `num b${(b[key] ?? -1) > (a[key] ?? -1) ? ' better' : ''}` }, score(b[key])),
          ),
        ),
      ),
    ),
  );
}

export interface EvaluationsPanel {
  element: HTMLElement;
  /** shows one model's evaluations (null: all) and makes it the form's and the comparison's first model */
  showModel(modelId: string | null): void;
  stop(): void;
}

/** The panel; `onError` shows a failed request on the page. */
export function evaluationsPanel(onError: (error: Error) => void): EvaluationsPanel {
  let modelId: string | null = null;
  const model = h('input', { name: 'evaluate-model', placeholder: 'model id', size: '36' }) as HTMLInputElement;
  const dataset = select('evaluate-dataset', []);
  const split = select('evaluate-split', [
    ['VALIDATION', 'validation'],
    ['TRAIN', 'training'],
    ['ALL', 'all images'],
  ]);
  // beam first: the caption settings' default (src/ml/settings/caption.ts)
  const method = select('evaluate-method', [
    ['BEAM', 'beam'],
    ['GREEDY', 'greedy'],
  ]);
  const beamWidth = h('input', { name: 'evaluate-beam-width', type: 'number', min: '1', max: '20', value: '3' }) as HTMLInputElement;
  const submit = h('button', { class: 'evaluate' }, 'evaluate');
  const compareA = h('input', { name: 'compare-a', placeholder: 'model id', size: '36' }) as HTMLInputElement;
  const compareB = h('input', { name: 'compare-b', placeholder: 'other model id', size: '36' }) as HTMLInputElement;
  const compareButton = h('button', { class: 'compare' }, 'compare');
  const compared = h('div', { class: 'compared' });
  const heading = h('h2', {}, 'Evaluations');
  const cancel = (e: EvaluationRow) => {
    const button = h('button', { class: 'cancel-evaluation' }, 'cancel');
    button.addEventListener('click', () => void query(CANCEL, { id: e.id }).then(() => list.reload(), onError));
    return button;
  };
  const list = pagedList<EvaluationRow>({
    fetch: async (page: PageRequest) =>
      (await query<{ evaluationsConnection: Connection<EvaluationRow> }>(LIST, { ...page, modelId })).evaluationsConnection,
    render: (rows) => evaluationsTable(rows, cancel),
    noun: 'evaluations',
    onError,
    onShown: (rows) => {
      clearTimeout(refresh);
      if (rows.some(unfinished)) refresh = setTimeout(() => void list.reload(), 2000);
    },
  });
  let refresh: ReturnType<typeof setTimeout> | undefined;
  submit.addEventListener('click', async () => {
    try {
      const input = { modelId: model.value.trim(), datasetId: dataset.value, split: split.value, method: method.value };
      await query(EVALUATE, { input: method.value === 'BEAM' ? { ...input, beamWidth: Number(beamWidth.value) } : input });
      await list.restart();
    } catch (error) {
      onError(error as Error);
    }
  });
  compareButton.addEventListener('click', async () => {
    try {
      const [a, b] = await Promise.all(
        [compareA.value.trim(), compareB.value.trim()].map(
          async (id) => (await query<{ model: { name: string; evaluations: EvaluationRow[] } }>(OF_MODEL, { id })).model,
        ),
      );
      compared.replaceChildren(compareTable(a!.name, b!.name, comparable(a!.evaluations, b!.evaluations)));
    } catch (error) {
      onError(error as Error);
    }
  });
  void query<{ datasetsConnection: Connection<{ id: string; name: string }> }>(READY_DATASETS).then(({ datasetsConnection }) => {
    dataset.replaceChildren(...datasetsConnection.edges.map(({ node }) => h('option', { value: node.id }, node.name)));
  }, onError);
  const element = h(
    'section',
    { class: 'evaluations-panel' },
    heading,
    h(
      'p',
      { class: 'evaluate-form' },
      h('label', {}, 'model ', model),
      ' ',
      h('label', {}, 'dataset ', dataset),
      ' ',
      h('label', {}, 'split ', split),
      ' ',
      h('label', {}, 'decoding ', method),
      ' ',
      h('label', {}, 'beam width ', beamWidth),
      ' ',
      submit,
    ),
    list.element,
    h('h3', {}, 'Compare two models'),
    h('p', { class: 'compare-form' }, compareA, ' vs ', compareB, ' ', compareButton),
    compared,
  );
  void list.reload();
  return {
    element,
    showModel(id) {
      modelId = id;
      heading.textContent = id ? `Evaluations of model ${id.slice(0, 8)}` : 'Evaluations';
      if (id) {
        model.value = id;
        compareA.value = id;
      }
      void list.restart();
    },
    stop() {
      clearTimeout(refresh);
      list.stop();
    },
  };
}
