// The "start a training run" form: a READY dataset and optional hyper-parameters (blank fields take
// the server's defaults, shown as placeholders). On success the page moves to the new run.
import { query } from './api.ts';
import { h } from './dom.ts';

interface DatasetRow {
  id: string;
  name: string;
  status: string;
  imageCount: number;
  captionCount: number;
}

const DATASETS = `query Datasets { datasets { id name status imageCount captionCount } }`;
const START = `mutation Start($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`;

/** [input name, label, placeholder (the server default), integer?] */
const FIELDS: [string, string, string, boolean][] = [
  ['epochs', 'epochs', '10', true],
  ['batchSize', 'batch size', '32', true],
  ['units', 'GRU units', '512', true],
  ['embeddingDim', 'embedding', '256', true],
  ['vocabSize', 'vocabulary', '5000', true],
  ['learningRate', 'learning rate', '0.001', false],
  ['seed', 'seed', '42', true],
];

export async function renderStartForm(): Promise<HTMLElement> {
  const { datasets } = await query<{ datasets: DatasetRow[] }>(DATASETS);
  const ready = datasets.filter((d) => d.status === 'READY');
  const select = h(
    'select',
    { name: 'datasetId' },
    ...ready.map((d) => h('option', { value: d.id }, `${d.name} (${d.imageCount} images, ${d.captionCount} captions)`)),
  ) as HTMLSelectElement;
  const inputs = FIELDS.map(([name, label, placeholder, integer]) => {
    const input = h('input', { name, type: 'number', placeholder, step: integer ? '1' : 'any', min: '0' }) as HTMLInputElement;
    return { name, integer, input, label: h('label', {}, `${label} `, input) };
  });
  const backbone = h('input', { name: 'backbone', size: '60', placeholder: 'none: a small CNN trained from scratch' }) as HTMLInputElement;
  const button = h('button', { type: 'submit', class: 'start' }, 'Start training') as HTMLButtonElement;
  const message = h('span', { class: 'error' });
  const form = h(
    'form',
    { class: 'start-form', novalidate: '' },
    h('h2', {}, 'Start a run'),
    ready.length
      ? h('label', {}, 'dataset ', select)
      : h('p', {}, 'No READY dataset yet: create one on the ', h('a', { href: '#/datasets' }, 'Datasets'), ' page.'),
    h('div', { class: 'fields' }, ...inputs.map((i) => i.label)),
    h('div', { class: 'fields' }, h('label', {}, 'pretrained backbone (TF.js model.json URL) ', backbone)),
    h('p', {}, button, ' ', message),
  );
  button.disabled = ready.length === 0;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    const input: Record<string, unknown> = { datasetId: select.value };
    for (const { name, integer, input: field } of inputs) {
      if (field.value.trim() === '') continue;
      const value = Number(field.value);
      if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
        message.textContent = `${name}: ${integer ? 'a whole number' : 'a number'} please`;
        return;
      }
      input[name] = value;
    }
    if (backbone.value.trim()) input.encoder = { backbone: backbone.value.trim() };
    button.disabled = true;
    try {
      const { startTraining } = await query<{ startTraining: { id: string } }>(START, { input });
      location.hash = `#/runs/${startTraining.id}`;
    } catch (error) {
      message.textContent = (error as Error).message;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
