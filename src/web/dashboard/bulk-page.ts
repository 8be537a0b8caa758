// "#/bulk": bulk caption jobs (captionDataset), newest first, a page at a time, with their progress (the page
// shown refreshed every few seconds) and a download of each job's COCO-style results JSON. The download goes
// through fetch with the stored API key (a plain link could not send it) and is saved from a blob.
import { apiKey, type Connection, PAGE_FIELDS, query } from './api.ts';
import { h } from './dom.ts';
import { pagedList } from './paged-list.ts';

interface BulkRow {
  id: string;
  status: string;
  done: number;
  total: number;
  failed: number;
  priority: string;
  resultsUrl: string;
  createdAt: string;
  dataset: { name: string };
  model: { name: string };
}

const JOBS = `query BulkJobs($first: Int!, $after: String) { bulkCaptionJobsConnection(first: $first, after: $after) {
  ${PAGE_FIELDS} edges { node { id status done total failed priority resultsUrl createdAt dataset { name } model { name } } } } }`;
const REFRESH_MS = 3000;

const progress = (job: BulkRow) =>
  `${job.done} / ${job.total}${job.total > 0 ? ` (${Math.round((100 * job.done) / job.total)}%)` : ''}${job.failed ? `, ${job.failed} unreadable` : ''}`;

async function download(job: BulkRow, message: HTMLElement): Promise<void> {
  const res = await fetch(job.resultsUrl, { headers: apiKey.get() ? { authorization: `Bearer ${apiKey.get()}` } : {} });
  if (!res.ok) {
    message.textContent = `download refused: HTTP ${res.status}`;
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const link = h('a', { href: url, download: `bulk-captions-${job.id}.json` });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function jobsTable(jobs: BulkRow[], message: HTMLElement): HTMLElement {
  if (jobs.length === 0) return h('p', {}, 'No bulk caption jobs yet: captionDataset (see the IDE) starts one.');
  const rows = jobs.map((job) => {
    const link = h('a', { href: job.resultsUrl, class: 'download' }, 'results.json');
    link.addEventListener('click', (event) => {
      event.preventDefault();
      download(job, message).catch((error: Error) => (message.textContent = error.message));
    });
    return h(
      'tr',
      { 'data-bulk': job.id },
      h('td', {}, job.id.slice(0, 8)),
      h('td', {}, job.model.name),
      h('td', {}, job.dataset.name),
      h('td', { class: `status ${job.status.toLowerCase()}` }, job.status),
      h('td', { class: 'progress' }, progress(job)),
      h('td', {}, job.priority.toLowerCase()),
      h('td', {}, new Date(job.createdAt).toLocaleString()),
      h('td', {}, link),
    );
  });
  return h(
    'table',
    { class: 'bulk' },
    h(
      'thead',
      {},
      h('tr', {}, ...['job', 'model', 'dataset', 'status', 'images', 'priority', 'created', 'results'].map((c) => h('th', {}, c))),
    ),
    h('tbody', {}, ...rows),
  );
}

/** Renders the page; returns a function that stops its refreshing. */
export function renderBulkPage(root: HTMLElement): () => void {
  const message = h('p', { class: 'error' });
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const list = pagedList<BulkRow>({
    fetch: async (page) => (await query<{ bulkCaptionJobsConnection: Connection<BulkRow> }>(JOBS, { ...page })).bulkCaptionJobsConnection,
    render: (jobs) => jobsTable(jobs, message),
    noun: 'jobs',
    onError: (error) => void (message.textContent = error.message),
    onShown: () => void (message.textContent = ''),
  });
  const refresh = async () => {
    await list.reload();
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  root.replaceChildren(h('h1', {}, 'Bulk captions'), message, list.element);
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    list.stop();
  };
}
