// Dashboard entry: a hash router over the runs list and the run page.
import { apiKey } from './api.ts';
import { h } from './dom.ts';
import { renderRunPage } from './run-page.ts';
import { renderRunsPage } from './runs-page.ts';

const root = document.getElementById('app')!;
let leave = () => {};

function route(): void {
  leave();
  leave = () => {};
  const run = /^#\/runs\/([^/]+)$/.exec(location.hash);
  if (run) {
    leave = renderRunPage(root, decodeURIComponent(run[1]!));
    return;
  }
  renderRunsPage(root).catch((error: Error) => root.replaceChildren(h('p', { class: 'error' }, error.message)));
}

const keyInput = document.getElementById('api-key') as HTMLInputElement;
keyInput.value = apiKey.get();
keyInput.addEventListener('change', () => apiKey.set(keyInput.value.trim()));

window.addEventListener('hashchange', route);
route();
