// "#/models": trained models, newest first, a page at a time, filtered by name and by the dataset they
// were trained on, with their name, version and aliases, their evaluation metrics, their vocabulary (the
// model's tokens, special ones included, and the dataset's distinct words), rename and alias buttons (an
// alias is set on, or moved to, the row's version) and a link to caption with each; under them the
// evaluations (./model-evaluations.ts): queue one, a model's list, two models side by side.
import { type Connection, PAGE_FIELDS, query } from './api.ts';
import { h } from './dom.ts';
import { evaluationsPanel } from './model-evaluations.ts';
import { type PageRequest, pagedList } from './paged-list.ts';
import { type Choice, searchSelect } from './search-select.ts';

export interface ModelRow {
  id: string;
  name: string;
  version: number;
  aliases: string[];
  runId: string | null;
  vocabSize: number;
  datasetVocabularyWords?: number | null;
  createdAt: string;
  metrics: { valLoss?: number | null; bleu4?: number | null; trainLoss?: number | null; step?: number | null } | null;
}

const MODELS = `query Models($first: Int!, $after: String, $name: String, $datasetId: ID) {
  modelsConnection(first: $first, after: $after, nameContains: $name, datasetId: $datasetId) {
    ${PAGE_FIELDS} edges { node { id name version aliases runId vocabSize datasetVocabularyWords createdAt metrics } }
  } }`;
const DATASET_NAMES = `query DatasetNames($name: String) { datasetsConnection(first: 20, nameContains: $name) { edges { node { id name } } } }`;
const DELETE = `mutation Delete($id: ID!) { deleteModel(id: $id) }`;
const RENAME = `mutation Rename($id: ID!, $name: String!) { renameModel(id: $id, name: $name) { id name } }`;
const SET_ALIAS = `mutation SetAlias($name: String!, $alias: String!, $version: Int!) {
  setModelAlias(name: $name, alias: $alias, version: $version) { alias version } }`;

/** "27 tokens · 23 words in its dataset": the model's vocabulary counts <pad>, <start>, <end>, <unk> */
export function vocabularyText(model: Pick<ModelRow, 'vocabSize' | 'datasetVocabularyWords'>): string {
  const words = model.datasetVocabularyWords;
  return `${model.vocabSize} tokens${typeof words === 'number' ? ` · ${words} words in its dataset` : ''}`;
}

const number = (value: number | null | undefined, digits: number) => (typeof value === 'number' ? value.toFixed(digits) : '–');

/** One page of models: `name` a substring of their names, `datasetId` the set they were trained on (blank: any). */
async function findModels(page: PageRequest, name: string, datasetId = ''): Promise<Connection<ModelRow>> {
  const variables = { ...page, name: name || null, datasetId: datasetId || null };
  return (await query<{ modelsConnection: Connection<ModelRow> }>(MODELS, variables)).modelsConnection;
}

/** Datasets whose name holds `text` (newest first, one page), as choices. */
async function datasetChoices(text: string): Promise<Choice[]> {
  const { datasetsConnection } = await query<{ datasetsConnection: Connection<{ id: string; name: string }> }>(DATASET_NAMES, {
    name: text || null,
  });
  return datasetsConnection.edges.map(({ node }) => [node.id, node.name] as const);
}

function modelsTable(models: ModelRow[], filtered: boolean, actions: (model: ModelRow) => (Node | string)[]): HTMLElement {
  if (models.length === 0) {
    return h('p', {}, filtered ? 'No model matches these filters.' : 'No models yet: a training run that succeeds registers one.');
  }
  const rows = models.map((model) =>
    h(
      'tr',
      { 'data-model': model.id },
      h('td', { class: 'name', title: model.name }, model.name),
      h('td', { class: 'num version' }, String(model.version)),
      h('td', { class: 'aliases' }, model.aliases.map((a) => `@${a}`).join(' ')),
      h('td', {}, model.runId ? h('a', { href: `#/runs/${model.runId}` }, model.runId.slice(0, 8)) : '–'),
      h('td', { class: 'num' }, String(model.metrics?.step ?? '–')),
      h('td', { class: 'num train-loss' }, number(model.metrics?.trainLoss, 3)),
      h('td', { class: 'num val-loss' }, number(model.metrics?.valLoss, 3)),
      h('td', { class: 'num bleu4' }, number(model.metrics?.bleu4, 3)),
      h('td', { class: 'vocabulary', title: 'model tokens include <pad>, <start>, <end>, <unk>' }, vocabularyText(model)),
      h('td', {}, new Date(model.createdAt).toLocaleString()),
      h('td', {}, h('a', { href: `#/caption/${model.id}`, class: 'caption-link' }, 'caption an image →')),
      h('td', {}, ...actions(model)),
    ),
  );
  const headings = ['model', 'version', 'aliases', 'run', 'steps', 'train loss', 'val loss', 'BLEU-4', 'vocabulary', 'created', '', ''];
  return h('table', { class: 'runs models' }, h('thead', {}, h('tr', {}, ...headings.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows));
}

/** Renders the page; returns a function that stops its searches. */
export function renderModelsPage(root: HTMLElement): () => void {
  const message = h('p', { class: 'error' });
  const fail = (error: Error) => void (message.textContent = error.message);
  const nameFilter = h('input', { type: 'search', name: 'name-filter', placeholder: 'name contains…' }) as HTMLInputElement;
  const dataset = searchSelect({
    name: 'dataset-filter',
    placeholder: 'search datasets',
    find: datasetChoices,
    first: ['', 'any dataset'],
    onChange: () => void list.restart(),
    onError: fail,
  });
  const act = (button: HTMLElement, change: () => Promise<boolean>) => {
    button.addEventListener('click', async () => {
      try {
        if (!(await change())) return;
        message.textContent = '';
        await list.reload();
      } catch (error) {
        fail(error as Error);
      }
    });
    return button;
  };
  const evaluations = evaluationsPanel(fail);
  const actions = (model: ModelRow) => [
    act(
      h('button', { class: 'show-evaluations', title: "the model's evaluations, and a form to evaluate it" }, 'evaluations'),
      async () => {
        evaluations.showModel(model.id);
        evaluations.element.scrollIntoView();
        return false;
      },
    ),
    ' ',
    act(h('button', { class: 'rename', title: 'give the model a name' }, 'rename'), async () => {
      const name = prompt(`New name for ${model.name}`, model.name);
      if (name === null) return false;
      await query(RENAME, { id: model.id, name });
      return true;
    }),
    ' ',
    act(h('button', { class: 'set-alias', title: 'point an alias of this name (e.g. production) at this version' }, 'alias'), async () => {
      const alias = prompt(
        `Alias to point at ${model.name}:${model.version} (set or moved; e.g. production)`,
        model.aliases[0] ?? 'production',
      );
      if (alias === null) return false;
      await query(SET_ALIAS, { name: model.name, alias: alias.trim(), version: model.version });
      return true;
    }),
    ' ',
    act(h('button', { class: 'delete', title: 'delete the model, its files and its caption requests' }, 'delete'), async () => {
      if (!confirm(`Delete ${model.name}, its files and its caption requests?`)) return false;
      await query(DELETE, { id: model.id });
      return true;
    }),
  ];
  const list = pagedList<ModelRow>({
    fetch: (page) => findModels(page, nameFilter.value.trim(), dataset.select.value),
    render: (models) => modelsTable(models, nameFilter.value.trim() !== '' || dataset.select.value !== '', actions),
    noun: 'models',
    onError: fail,
  });
  let typing: ReturnType<typeof setTimeout> | undefined;
  nameFilter.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => void list.restart(), 200);
  });
  root.replaceChildren(
    h('h1', {}, 'Models'),
    h('p', { class: 'filters' }, h('label', {}, 'name ', nameFilter), ' ', h('label', {}, 'dataset ', dataset.search, ' ', dataset.select)),
    message,
    list.element,
    evaluations.element,
  );
  void dataset.refresh();
  void list.reload();
  return () => {
    clearTimeout(typing);
    dataset.stop();
    list.stop();
    evaluations.stop();
  };
}
