// "#/models": trained models, newest first, with their evaluation metrics, their vocabulary (the
// model's tokens, special ones included, and the dataset's distinct words), a rename button and a link
// to caption with each.
import { query } from './api.ts';
import { h } from './dom.ts';

export interface ModelRow {
  id: string;
  name: string;
  runId: string | null;
  vocabSize: number;
  datasetVocabularyWords?: number | null;
  createdAt: string;
  metrics: { valLoss?: number | null; bleu4?: number | null; trainLoss?: number | null; step?: number | null } | null;
}

export const MODELS = `query Models { models { id name runId vocabSize datasetVocabularyWords createdAt metrics } }`;
const DELETE = `mutation Delete($id: ID!) { deleteModel(id: $id) }`;
const RENAME = `mutation Rename($id: ID!, $name: String!) { renameModel(id: $id, name: $name) { id name } }`;

/** "27 tokens · 23 words in its dataset": the model's vocabulary counts <pad>, <start>, <end>, <unk> */
export function vocabularyText(model: Pick<ModelRow, 'vocabSize' | 'datasetVocabularyWords'>): string {
  const words = model.datasetVocabularyWords;
  return `${model.vocabSize} tokens${typeof words === 'number' ? ` · ${words} words in its dataset` : ''}`;
}

const number = (value: number | null | undefined, digits: number) => (typeof value === 'number' ? value.toFixed(digits) : '–');

export async function renderModelsPage(root: HTMLElement): Promise<void> {
  const { models } = await query<{ models: ModelRow[] }>(MODELS);
  const message = h('p', { class: 'error' });
  const remove = (model: ModelRow) => {
    const button = h('button', { class: 'delete', title: 'delete the model, its files and its caption requests' }, 'delete');
    button.addEventListener('click', async () => {
      if (!confirm(`Delete ${model.name}, its files and its caption requests?`)) return;
      try {
        await query(DELETE, { id: model.id });
        await renderModelsPage(root);
      } catch (error) {
        message.textContent = (error as Error).message;
      }
    });
    return button;
  };
  const rename = (model: ModelRow) => {
    const button = h('button', { class: 'rename', title: 'give the model a name' }, 'rename');
    button.addEventListener('click', async () => {
      const name = prompt(`New name for ${model.name}`, model.name);
      if (name === null) return;
      try {
        await query(RENAME, { id: model.id, name });
        await renderModelsPage(root);
      } catch (error) {
        message.textContent = (error as Error).message;
      }
    });
    return button;
  };
  const rows = models.map((model) =>
    h(
      'tr',
      { 'data-model': model.id },
      h('td', { class: 'name', title: model.name }, model.name),
      h('td', {}, model.runId ? h('a', { href: `#/runs/${model.runId}` }, model.runId.slice(0, 8)) : '–'),
      h('td', { class: 'num' }, String(model.metrics?.step ?? '–')),
      h('td', { class: 'num train-loss' }, number(model.metrics?.trainLoss, 3)),
      h('td', { class: 'num val-loss' }, number(model.metrics?.valLoss, 3)),
      h('td', { class: 'num bleu4' }, number(model.metrics?.bleu4, 3)),
      h('td', { class: 'vocabulary', title: 'model tokens include <pad>, <start>, <end>, <unk>' }, vocabularyText(model)),
      h('td', {}, new Date(model.createdAt).toLocaleString()),
      h('td', {}, h('a', { href: `#/caption/${model.id}`, class: 'caption-link' }, 'caption an image →')),
      h('td', {}, rename(model), ' ', remove(model)),
    ),
  );
  const headings = ['model', 'run', 'steps', 'train loss', 'val loss', 'BLEU-4', 'vocabulary', 'created', '', ''];
  root.replaceChildren(
    h('h1', {}, 'Models'),
    message,
    rows.length
      ? h('table', { class: 'runs models' }, h('thead', {}, h('tr', {}, ...headings.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows))
      : h('p', {}, 'No models yet: a training run that succeeds registers one.'),
  );
}
