// "#/": training runs, newest first, a page at a time back to the oldest, filtered by status, with
// their progress (the page shown refreshed every few seconds), and the form that starts a new run.
import { type Connection, enumValues, PAGE_FIELDS, query } from './api.ts';
import { h, select } from './dom.ts';
import { pagedList } from './paged-list.ts';
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

const RUNS = `query Runs($first: Int!, $after: String, $status: RunStatus) { trainingRuns(first: $first, after: $after, status: $status) {
  ${PAGE_FIELDS} edges { node { id status step totalSteps epoch createdAt dataset { name } } } } }`;
const REFRESH_MS = 3000;

const progress = (run: RunRow) =>
  run.totalSteps ? `${run.step} / ${run.totalSteps} (${Math.round((100 * run.step) / run.totalSteps)}%)` : `${run.step}`;

function runsTable(runs: RunRow[], filtered: boolean): HTMLElement {
  if (runs.length === 0) return h('p', {}, filtered ? 'No run has this status.' : 'No training runs yet.');
  const rows = runs.map((run) =>
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
  return h(
    'table',
    { class: 'runs' },
    h('thead', {}, h('tr', {}, ...['run', 'dataset', 'status', 'steps', 'created'].map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows),
  );
}

/** Renders the page; returns a function that stops its refreshing. */
export function renderRunsPage(root: HTMLElement): () => void {
  const message = h('p', { class: 'error' });
  const statusFilter = select('status-filter', [['', 'any status']]);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const list = pagedList<RunRow>({
    fetch: async (page) => {
      const variables = { ...page, status: statusFilter.value || null };
      return (await query<{ trainingRuns: Connection<RunRow> }>(RUNS, variables)).trainingRuns;
    },
    render: (runs) => runsTable(runs, statusFilter.value !== ''),
    noun: 'runs',
    onError: (error) => void (message.textContent = error.message),
    onShown: () => void (message.textContent = ''),
  });
  // the page shown, whichever it is, follows its runs' progress
  const refresh = async () => {
    await list.reload();
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  statusFilter.addEventListener('change', () => void list.restart());
  enumValues('RunStatus')
    .then((statuses) => statusFilter.append(...statuses.map((s) => h('option', { value: s }, s.toLowerCase()))))
    .catch((error: Error) => (message.textContent = error.message));
  root.replaceChildren(
    h('h1', {}, 'Training runs'),
    h('p', { class: 'filters' }, h('label', {}, 'status ', statusFilter)),
    message,
    list.element,
  );
  void refresh();
  renderStartForm()
    .then((form) => !stopped && root.append(form))
    .catch((error: Error) => (message.textContent = error.message));
  return () => {
    stopped = true;
    clearTimeout(timer);
    list.stop();
  };
}
