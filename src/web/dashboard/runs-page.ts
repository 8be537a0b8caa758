// "#/": training runs, newest first, with status and progress (refreshed every few seconds), and
// the form that starts a new run.
import { query } from './api.ts';
import { h } from './dom.ts';
import { renderStartForm } from './start-form.ts';

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
const REFRESH_MS = 3000;

const progress = (run: RunRow) =>
  run.totalSteps ? `${run.step} / ${run.totalSteps} (${Math.round((100 * run.step) / run.totalSteps)}%)` : `${run.step}`;

async function runsTable(): Promise<HTMLElement> {
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
  if (rows.length === 0) return h('p', {}, 'No training runs yet.');
  return h(
    'table',
    { class: 'runs' },
    h('thead', {}, h('tr', {}, ...['run', 'dataset', 'status', 'steps', 'created'].map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows),
  );
}

/** Renders the page; returns a function that stops its refreshing. */
export function renderRunsPage(root: HTMLElement): () => void {
  const list = h('div', { class: 'runs-list' }, 'loading…');
  const message = h('p', { class: 'error' });
  root.replaceChildren(h('h1', {}, 'Training runs'), message, list);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = async () => {
    try {
      const table = await runsTable();
      if (stopped) return;
      list.replaceChildren(table);
      message.textContent = '';
    } catch (error) {
      message.textContent = (error as Error).message;
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  void refresh();
  renderStartForm()
    .then((form) => !stopped && root.append(form))
    .catch((error: Error) => (message.textContent = error.message));
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
