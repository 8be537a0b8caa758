// Dashboard entry: a hash router over the runs list, a run page, datasets, the models list, the caption page and
// the bulk caption jobs.
import { apiKey } from './api.ts';
import { renderBulkPage } from './bulk-page.ts';
import { renderCaptionPage } from './caption-page.ts';
import { renderDatasetsPage } from './datasets-page.ts';
import { renderModelsPage } from './models-page.ts';
import { renderRunPage } from './run-page.ts';
import { renderRunsPage } from './runs-page.ts';

const root = document.getElementById('app')!;
let leave = () => {};

function route(): void {
  leave();
  leave = () => {};
  const hash = location.hash;
  const run = /^#\/runs\/([^/]+)$/.exec(hash);
  const caption = /^#\/caption(?:\/([^/]+))?$/.exec(hash);
  const named: Record<string, string> = { '#/models': 'models', '#/datasets': 'datasets', '#/bulk': 'bulk' };
  const section = named[hash] ?? (caption ? 'caption' : 'runs');
  document
    .querySelectorAll<HTMLElement>('header [data-section]')
    .forEach((a) => a.classList.toggle('current', a.dataset.section === section));
  if (run) leave = renderRunPage(root, decodeURIComponent(run[1]!));
  else if (hash === '#/models') leave = renderModelsPage(root);
  else if (hash === '#/datasets') leave = renderDatasetsPage(root);
  else if (hash === '#/bulk') leave = renderBulkPage(root);
  else if (caption) leave = renderCaptionPage(root, caption[1] && decodeURIComponent(caption[1]));
  else leave = renderRunsPage(root);
}

const keyInput = document.getElementById('api-key') as HTMLInputElement;
keyInput.value = apiKey.get();
keyInput.addEventListener('change', () => apiKey.set(keyInput.value.trim()));

window.addEventListener('hashchange', route);
route();
