// The index.html of a static export (./static-export.ts): a page with no server behind it that loads the device
// bundle and the model beside it (relative URLs), then captions each image dropped or picked, word by word, and
// shades the picture where the model looked for the word under the pointer (the newest word until then). Its
// script is plain JavaScript inline: it uses only the bundle's API (src/ml/browser/index.ts).
import type { DeviceManifest } from './device.ts';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const SCRIPT = `
const manifest = JSON.parse(document.getElementById('manifest').textContent);
const $ = (id) => document.getElementById(id);
const status = $('status');
const abs = (path) => new URL(path, location.href).href;
const wasmFiles = Object.fromEntries(Object.entries(manifest.wasmFiles).map(([k, v]) => [k, abs(v)]));
let captioner;
let picture;
let words = [];
function draw(index) {
  const canvas = $('picture');
  const ctx = canvas.getContext('2d');
  ctx.drawImage(picture, 0, 0, canvas.width, canvas.height);
  const word = words[index];
  if (!word) return;
  const g = captioner.gridSize;
  const max = Math.max(...word.attention);
  const cw = canvas.width / g;
  const ch = canvas.height / g;
  for (let y = 0; y < g; y++)
    for (let x = 0; x < g; x++) {
      ctx.fillStyle = 'rgba(0,0,0,' + (0.75 * (1 - word.attention[y * g + x] / max)).toFixed(3) + ')';
      ctx.fillRect(x * cw, y * ch, cw, ch);
    }
  document.querySelectorAll('.word').forEach((el, i) => el.classList.toggle('selected', i === index));
}
async function caption(file) {
  if (!captioner) return;
  picture = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const canvas = $('picture');
  const scale = Math.min(1, 448 / Math.max(picture.width, picture.height));
  canvas.width = Math.round(picture.width * scale);
  canvas.height = Math.round(picture.height * scale);
  words = [];
  $('words').replaceChildren();
  draw(-1);
  status.textContent = 'captioning…';
  const started = performance.now();
  let first = 0;
  for await (const event of captioner.stream(file)) {
    if (words.length === 0) first = performance.now() - started;
    const index = words.length;
    words.push({ token: event.token, attention: Array.from(event.attention) });
    const span = document.createElement('span');
    span.className = 'word';
    span.textContent = event.token;
    span.addEventListener('mouseenter', () => draw(index));
    $('words').append(span, ' ');
    draw(index);
  }
  const total = performance.now() - started;
  const perWord = words.length > 1 ? (total - first) / (words.length - 1) : total;
  $('caption').textContent = words.map((w) => w.token).join(' ');
  status.textContent = 'done: ' + words.length + ' words · backend ' + captioner.backend + ' · first word ' + Math.round(first) + ' ms · ' + perWord.toFixed(1) + ' ms per word';
}
$('file').addEventListener('change', () => $('file').files[0] && caption($('file').files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); const f = e.dataTransfer.files[0]; if (f) caption(f); });
try {
  const device = await import(abs(manifest.script));
  captioner = await device.loadDeviceCaptioner({ modelUrl: abs('./model/model.json'), wasmFiles });
  status.textContent = 'ready: backend ' + captioner.backend + ', model loaded in ' + Math.round(captioner.loadMs) + ' ms';
  document.body.dataset.ready = 'true';
} catch (error) {
  status.textContent = 'cannot load the model: ' + error.message;
  status.className = 'error';
}
`;

const STYLE = `
body { font: 15px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2937; }
#drop { border: 2px dashed #9ca3af; border-radius: 8px; padding: 16px; max-width: 640px; text-align: center; }
#drop.over { border-color: #2563eb; background: #eff6ff; }
.view { display: flex; gap: 24px; margin-top: 16px; align-items: flex-start; }
#words { font-size: 22px; line-height: 1.8; max-width: 420px; }
.word { padding: 2px 6px; border-radius: 4px; cursor: pointer; }
.word.selected { background: #fde68a; }
.error { color: #dc2626; }
`;

/** The page, for the bundle and wasm files at the manifest's (relative) URLs and the model at ./model/model.json. */
export function staticPage(manifest: DeviceManifest, title: string): string {
  // </ cannot end the JSON's script element early
  const json = JSON.stringify(manifest).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(title)} · Glimpse captions</title>
    <link rel="icon" href="data:," />
    <style>${STYLE}</style>
  </head>
  <body>
    <h1>${escapeHtml(title)}</h1>
    <p>Captions computed in this browser (Glimpse, Show, Attend and Tell); the image never leaves it. Hover a word to see where the model looked.</p>
    <div id="drop">Drop a JPEG, PNG or WebP image here, or <input type="file" id="file" accept="image/jpeg,image/png,image/webp" /></div>
    <p id="status">loading the model…</p>
    <div class="view"><canvas id="picture" width="0" height="0"></canvas><div><div id="words"></div><p id="caption"></p></div></div>
    <script type="application/json" id="manifest">${json}</script>
    <script type="module">${SCRIPT}</script>
  </body>
</html>
`;
}
