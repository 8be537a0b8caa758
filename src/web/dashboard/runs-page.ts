// "#/": training runs, newest first, with status and progress.
import { query } from './api.ts';
import { h } from './dom.ts';

interface RunRow {
  id: string;
  status: string;
  step: number;
  totalSteps: number | null;
  epoch: number;
  createdAt: string;
  dataset: { name: string };
}

const RUNS = `query Runs { trainingRuns(first: 50) { edges { node { id status step totalSteps epoch createdAt dataset { name } } } } }`;

const progress = (run: RunRow) => (run.totalSteps ? `${run.step} / ${run.totalSteps} (${Math.round((100 * run.step) / run.totalSteps)}%)` : `${run.step}`);

export async function renderRunsPage(root: HTMLElement): Promise<void> {
  const data = await query<{ trainingRuns: { edges: { node: RunRow }[] } }>(RUNS);
  const rows = data.trainingRuns.edges.map(({ node: run }) =>
    h(
      'tr',
      { 'data-run': run.id },
      h('td', {}, h('a', { href: `#/runs/${run.id}` }, run.id.slice(0, 8))),
      h('td', {}, run.dataset.name),
      h('td', { class: `status ${run.status.toLowerCase()}` }, run.status),
      h('td', {}, progress(run)),
      h('td', {}, new Date(run.createdAt).toLocaleString()),
    ),
  );
  const table = h(
    'table',
    { class: 'runs' },
    h('thead', {}, h('tr', {}, ...['run', 'dataset', 'status', 'steps', 'created'].map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows),
  );
  root.replaceChildren(h('h1', {}, 'Training runs'), rows.length ? table : h('p', {}, 'No training runs yet.'));
}
