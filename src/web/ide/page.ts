// The IDE's HTML: loads the hashed GraphiQL files from `assetBase` and renders GraphiQL against the
// API's own path, subscriptions over graphql-ws.
import type { IdeAssets } from './assets.ts';
import { EXAMPLE_TABS } from './examples.ts';

export interface IdePageOptions {
  /** GraphQL endpoint path, also the graphql-ws path */
  endpoint: string;
  /** URL path the asset names are appended to, ending in "/" */
  assetBase: string;
  title: string;
}

/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function idePage(assets: IdeAssets, { endpoint, assetBase, title }: IdePageOptions): string {
  const workerUrls = Object.fromEntries(Object.entries(assets.workers).map(([label, a]) => [label, assetBase + a.name]));
  const options = {
    title,
    endpoint,
    subscriptionsProtocol: 'WS',
    defaultTabs: EXAMPLE_TABS,
    defaultHeaders: '{}',
    shouldPersistHeaders: true,
  };
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(title)}</title>
    <link rel="icon" href="${assetBase}${assets.favicon.name}" />
    <link rel="stylesheet" href="${assetBase}${assets.style.name}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run the GraphQL IDE.</noscript>
    <div id="root"></div>
    <script>
      const workerUrls = ${scriptJson(workerUrls)};
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workerUrls[label] };
    </script>
    <script src="${assetBase}${assets.script.name}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${scriptJson(options)});
    </script>
  </body>
</html>
`;
}
