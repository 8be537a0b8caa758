// The dashboard's script, src/web/dashboard/ bundled by esbuild, and its HTML shell. The compiled
// server serves the bundle `npm run build` wrote (src/web/prebuilt.ts); run from the sources it is
// bundled in memory on first use (nothing checked in, nothing written to disk).
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, hashedAsset, once, type Asset } from './asset.ts';
import { COMPILED, prebuiltAsset } from './prebuilt.ts';

const ENTRY = fileURLToPath(new URL('./dashboard/main.ts', import.meta.url));

/** The bundle of src/web/dashboard/main.ts: for `npm run build`, and per process when run from the sources. */
export async function bundleDashboard(): Promise<Asset> {
  const bundled = await bundleForBrowser(ENTRY);
  return hashedAsset('dashboard', 'js', 'text/javascript; charset=utf-8', bundled);
}

/** The bundled dashboard script, read from the build or bundled once per process. */
export const dashboardScript = once(() => (COMPILED ? prebuiltAsset('dashboard') : bundleDashboard()));

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2937; }
header { background: #111827; color: #fff; padding: 10px 24px; display: flex; gap: 24px; align-items: center; }
header a { color: #e5e7eb; text-decoration: none; }
header .key { margin-left: auto; color: #9ca3af; }
.error { color: #dc2626; }
main { padding: 16px 24px; }
table.runs { border-collapse: collapse; }
table.runs th, table.runs td { text-align: left; padding: 6px 14px; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
.status.running { color: #2563eb; } .status.succeeded { color: #16a34a; } .status.failed { color: #dc2626; }
header a.current { color: #fff; border-bottom: 2px solid #60a5fa; }
table.models td.name { max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
table.runs td.num { text-align: right; font-variant-numeric: tabular-nums; }
form.start-form { margin-top: 24px; padding: 12px 16px; border: 1px solid #e5e7eb; border-radius: 6px; max-width: 900px; }
form.start-form h2 { margin: 0 0 8px; font-size: 16px; }
form.start-form .fields { display: flex; flex-wrap: wrap; gap: 8px 16px; margin-top: 8px; }
form.start-form input { width: 90px; }
form.start-form input[name=backbone], form.start-form input[name=annotationsPath] { width: 420px; }
form.start-form input[name=imagesDir], form.start-form input[name=name] { width: 220px; }
[hidden] { display: none !important; }
.dropzone { border: 2px dashed #9ca3af; border-radius: 8px; padding: 16px; text-align: center; color: #4b5563; max-width: 640px; }
.dropzone.over { border-color: #2563eb; background: #eff6ff; }
.dropzone .pick { color: #2563eb; text-decoration: underline; cursor: pointer; }
.dropzone input[type=file] { display: none; }
.caption-view { display: flex; gap: 24px; align-items: flex-start; margin-top: 12px; }
canvas.attention { border-radius: 6px; max-width: 100%; }
.caption-side { max-width: 420px; }
.words { font-size: 22px; line-height: 1.8; }
.words .word { padding: 2px 6px; border-radius: 4px; cursor: pointer; outline: none; }
.words .word.selected { background: #fde68a; }
.caption-final { color: #4b5563; }
canvas.loss-chart { display: block; margin-top: 12px; border: 1px solid #e5e7eb; border-radius: 6px; }
`;

export function dashboardPage(scriptUrl: string, ideUrl: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Glimpse</title>
    <link rel="icon" href="data:," />
    <style>${STYLE}</style>
  </head>
  <body>
    <header>
      <strong>Glimpse</strong>
      <a href="#/" data-section="runs">Training runs</a><a href="#/datasets" data-section="datasets">Datasets</a><a href="#/models" data-section="models">Models</a><a href="#/caption" data-section="caption">Caption</a><a href="#/bulk" data-section="bulk">Bulk captions</a>
      <a href="${ideUrl}">GraphQL IDE</a>
      <label class="key">API key <input type="password" id="api-key" autocomplete="off" placeholder="for start / cancel / resume" /></label>
    </header>
    <main id="app"></main>
    <script type="module" src="${scriptUrl}"></script>
  </body>
</html>
`;
}
