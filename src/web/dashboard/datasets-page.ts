// "#/datasets": datasets, newest first, a page at a time, filtered by name and status, with their
// status and counts (refreshed while any shown is PENDING), and a form that registers a new one: a
// generated synthetic shapes set, or COCO-format files on the server.
import { type Connection, enumValues, PAGE_FIELDS, query } from './api.ts';
import { h, select } from './dom.ts';
import { pagedList } from './paged-list.ts';

interface DatasetRow {
  id: string;
  name: string;
  kind: string;
  status: string;
  imageCount: number;
  captionCount: number;
  error: string | null;
  syntheticImages: number | null;
  createdAt: string;
}

const DATASETS = `query Datasets($first: Int!, $after: String, $name: String, $status: DatasetStatus) {
  datasetsConnection(first: $first, after: $after, nameContains: $name, status: $status) {
    ${PAGE_FIELDS} edges { node { id name kind status imageCount captionCount error syntheticImages createdAt } }
  } }`;
const DELETE = `mutation Delete($id: ID!) { deleteDataset(id: $id) }`;
const CREATE = `mutation Create($input: CreateDatasetInput!) { createDataset(input: $input) { id status } }`;
const REFRESH_MS = 2000;

/** FAILED with its reason; a synthetic set being generated with the images written so far */
function statusText(d: DatasetRow): string {
  if (d.error) return `${d.status}: ${d.error}`;
  if (d.status === 'PENDING' && d.syntheticImages) return `PENDING (${d.imageCount} / ${d.syntheticImages} images)`;
  return d.status;
}

function datasetsTable(datasets: DatasetRow[], filtered: boolean, onDelete: (d: DatasetRow) => void): HTMLElement {
  if (datasets.length === 0) return h('p', {}, filtered ? 'No dataset matches these filters.' : 'No datasets yet.');
  const rows = datasets.map((d) =>
    h(
      'tr',
      { 'data-dataset': d.id },
      h('td', {}, d.name),
      h('td', {}, d.kind.toLowerCase()),
      h('td', { class: `status ${d.status.toLowerCase()}` }, statusText(d)),
      h('td', { class: 'num' }, String(d.imageCount)),
      h('td', { class: 'num' }, String(d.captionCount)),
      h('td', {}, new Date(d.createdAt).toLocaleString()),
      h('td', {}, deleteButton(d, onDelete)),
    ),
  );
  const headings = ['dataset', 'kind', 'status', 'images', 'captions', 'created', ''];
  return h(
    'table',
    { class: 'runs datasets' },
    h('thead', {}, h('tr', {}, ...headings.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows),
  );
}

function deleteButton(d: DatasetRow, onDelete: (d: DatasetRow) => void): HTMLElement {
  const button = h(
    'button',
    {
      class: 'delete',
      title: d.kind === 'SYNTHETIC' ? 'delete the dataset and its generated files' : 'delete the dataset (your COCO files stay)',
    },
    'delete',
  );
  button.addEventListener('click', () => onDelete(d));
  return button;
}

function createForm(onCreated: () => void): HTMLElement {
  const name = h('input', { name: 'name', placeholder: 'shapes-1000', required: '' }) as HTMLInputElement;
  const kind = select('kind', [
    ['synthetic', 'synthetic shapes'],
    ['coco', 'COCO files on the server'],
  ]);
  const images = h('input', { name: 'images', type: 'number', min: '1', step: '1', value: '1000' }) as HTMLInputElement;
  const seed = h('input', { name: 'seed', type: 'number', step: '1', placeholder: '1' }) as HTMLInputElement;
  const annotations = h('input', {
    name: 'annotationsPath',
    placeholder: '/data/coco/annotations/captions_train2014.json',
    size: '48',
  }) as HTMLInputElement;
  const imagesDir = h('input', { name: 'imagesDir', placeholder: '/data/coco/train2014', size: '32' }) as HTMLInputElement;
  const maxCaptions = h('input', { name: 'maxCaptions', type: 'number', min: '1', step: '1', placeholder: 'all' }) as HTMLInputElement;
  const synthetic = h('div', { class: 'fields synthetic' }, h('label', {}, 'images ', images), h('label', {}, 'seed ', seed));
  const coco = h(
    'div',
    { class: 'fields coco', hidden: '' },
    h('label', {}, 'captions JSON ', annotations),
    h('label', {}, 'image folder ', imagesDir),
    h('label', {}, 'max captions ', maxCaptions),
  );
  const button = h('button', { type: 'submit', class: 'create' }, 'Create dataset') as HTMLButtonElement;
  const message = h('span', { class: 'error' });
  kind.addEventListener('change', () => {
    synthetic.hidden = kind.value !== 'synthetic';
    coco.hidden = kind.value !== 'coco';
  });
  const form = h(
    'form',
    { class: 'start-form dataset-form', novalidate: '' },
    h('h2', {}, 'New dataset'),
    h('div', { class: 'fields' }, h('label', {}, 'name ', name), h('label', {}, 'kind ', kind)),
    synthetic,
    coco,
    h('p', {}, button, ' ', message),
  );
  const whole = (input: HTMLInputElement, what: string): number | undefined => {
    if (input.value.trim() === '') return undefined;
    const value = Number(input.value);
    if (!Number.isInteger(value)) throw new Error(`${what}: a whole number please`);
    return value;
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    let input: Record<string, unknown>;
    try {
      input =
        kind.value === 'synthetic'
          ? { name: name.value.trim(), synthetic: { images: whole(images, 'images') ?? 0, seed: whole(seed, 'seed') } }
          : {
              name: name.value.trim(),
              coco: {
                annotationsPath: annotations.value.trim(),
                imagesDir: imagesDir.value.trim(),
                maxCaptions: whole(maxCaptions, 'max captions'),
              },
            };
    } catch (error) {
      message.textContent = (error as Error).message;
      return;
    }
    button.disabled = true;
    try {
      await query(CREATE, { input });
      name.value = '';
      onCreated();
    } catch (error) {
      message.textContent = (error as Error).message;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** Renders the page; returns a function that stops its refreshing. */
export function renderDatasetsPage(root: HTMLElement): () => void {
  const message = h('p', { class: 'error' });
  const fail = (error: Error) => void (message.textContent = error.message);
  const nameFilter = h('input', { type: 'search', name: 'name-filter', placeholder: 'name contains…' }) as HTMLInputElement;
  const statusFilter = select('status-filter', [['', 'any status']]);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const remove = async (d: DatasetRow) => {
    const files = d.kind === 'SYNTHETIC' ? ' and its generated images' : ' (the COCO files stay)';
    if (!confirm(`Delete dataset ${d.name}${files}?`)) return;
    try {
      await query(DELETE, { id: d.id });
      message.textContent = '';
      await list.reload();
    } catch (error) {
      fail(error as Error);
    }
  };
  const filtered = () => nameFilter.value.trim() !== '' || statusFilter.value !== '';
  const list = pagedList<DatasetRow>({
    fetch: async (page) => {
      const variables = { ...page, name: nameFilter.value.trim() || null, status: statusFilter.value || null };
      return (await query<{ datasetsConnection: Connection<DatasetRow> }>(DATASETS, variables)).datasetsConnection;
    },
    render: (datasets) => datasetsTable(datasets, filtered(), remove),
    noun: 'datasets',
    onError: fail,
    onShown: (datasets) => {
      clearTimeout(timer);
      // generation and indexing happen on a worker: follow PENDING ones until they settle
      if (!stopped && datasets.some((d) => d.status === 'PENDING')) timer = setTimeout(() => void list.reload(), REFRESH_MS);
    },
  });
  let typing: ReturnType<typeof setTimeout> | undefined;
  nameFilter.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => void list.restart(), 200);
  });
  statusFilter.addEventListener('change', () => void list.restart());
  enumValues('DatasetStatus')
    .then((statuses) => statusFilter.append(...statuses.map((s) => h('option', { value: s }, s.toLowerCase()))))
    .catch(fail);
  root.replaceChildren(
    h('h1', {}, 'Datasets'),
    h('p', { class: 'filters' }, h('label', {}, 'name ', nameFilter), ' ', h('label', {}, 'status ', statusFilter)),
    message,
    list.element,
    createForm(() => void list.restart()),
    h('p', {}, 'A READY dataset can be trained on from the ', h('a', { href: '#/' }, 'Training runs'), ' page.'),
  );
  void list.reload();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(typing);
    list.stop();
  };
}
