// "#/caption[/<modelId>]": choose a model, drop or pick an image, watch the caption arrive word by
// word over captionStream, and hover or step through the words (←/→) to see where the model looked.
import { query, subscribe } from './api.ts';
import { drawAttention, loadPicture, type Picture } from './attention-canvas.ts';
import { h } from './dom.ts';
import { MODELS, type ModelRow } from './models-page.ts';

interface StreamEvent {
  index: number;
  token: string | null;
  attention: number[] | null;
  gridSize: number | null;
  done: boolean;
  caption: string | null;
}

const REQUEST = `mutation Caption($input: RequestCaptionInput!) { requestCaption(input: $input) { id status } }`;
const STREAM = `subscription Stream($id: ID!) { captionStream(requestId: $id) { index token attention gridSize done caption } }`;
const TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);

const readAsDataUrl = (file: Blob): Promise<string> =>
  new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(file);
  });

/** Renders the page; returns a function that stops its subscription and key handler. */
export function renderCaptionPage(root: HTMLElement, modelId?: string): () => void {
  const modelSelect = h('select', { name: 'model' }) as HTMLSelectElement;
  const methodSelect = h(
    'select',
    { name: 'method' },
    h('option', { value: 'GREEDY' }, 'greedy'),
    h('option', { value: 'BEAM' }, 'beam search (3)'),
  ) as HTMLSelectElement;
  const fileInput = h('input', { type: 'file', accept: [...TYPES].join(','), class: 'file' }) as HTMLInputElement;
  const dropzone = h('div', { class: 'dropzone' }, 'Drop a JPEG, PNG or WebP image here, or ', h('label', { class: 'pick' }, fileInput, 'choose a file'));
  const status = h('p', { class: 'caption-status' });
  const message = h('p', { class: 'error' });
  const canvas = h('canvas', { class: 'attention', width: '0', height: '0' }) as HTMLCanvasElement;
  const words = h('div', { class: 'words' });
  const prev = h('button', { class: 'prev', title: 'previous word (←)', disabled: '' }, '←') as HTMLButtonElement;
  const next = h('button', { class: 'next', title: 'next word (→)', disabled: '' }, '→') as HTMLButtonElement;
  const final = h('p', { class: 'caption-final' });
  // shown once an image is loaded
  const view = h('div', { class: 'caption-view', hidden: '' }, canvas, h('div', { class: 'caption-side' }, words, h('p', {}, prev, ' ', next), final));
  root.replaceChildren(
    h('h1', {}, 'Caption an image'),
    h('p', { class: 'controls' }, h('label', {}, 'model ', modelSelect), ' ', h('label', {}, 'decoding ', methodSelect)),
    dropzone,
    message,
    status,
    view,
  );

  let tokens: StreamEvent[] = [];
  let picture: Picture | undefined;
  let selected: number | null = null;
  /** until the user hovers or steps, the picture follows the newest word */
  let followLive = true;
  let unsubscribe = () => {};

  const select = (index: number | null) => {
    selected = index;
    words.querySelectorAll('.word').forEach((el, i) => el.classList.toggle('selected', i === index));
    prev.disabled = index === null || index <= 0;
    next.disabled = index === null || index >= tokens.length - 1;
    const token = index === null ? undefined : tokens[index];
    if (picture) drawAttention(picture, token ? index : null, token?.attention ?? undefined, token?.gridSize ?? undefined);
  };
  const step = (delta: number) => {
    if (tokens.length === 0) return;
    followLive = false;
    select(Math.min(Math.max((selected ?? -1) + delta, 0), tokens.length - 1));
  };
  prev.addEventListener('click', () => step(-1));
  next.addEventListener('click', () => step(1));
  const onKey = (event: KeyboardEvent) => {
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
    if (event.key === 'ArrowLeft') step(-1);
    if (event.key === 'ArrowRight') step(1);
  };
  document.addEventListener('keydown', onKey);

  const addWord = (event: StreamEvent) => {
    const index = tokens.length;
    tokens.push(event);
    const span = h('span', { class: 'word', 'data-index': String(index), tabindex: '0' }, event.token ?? '');
    span.addEventListener('mouseenter', () => ((followLive = false), select(index)));
    span.addEventListener('focus', () => ((followLive = false), select(index)));
    words.append(span, ' ');
    if (followLive) select(index);
    else select(selected); // the buttons' state
  };

  /** the newest image's number: an older one still loading or uploading stops at its next step */
  let latest = 0;
  const caption = async (file: File) => {
    const attempt = ++latest;
    const superseded = () => attempt !== latest;
    unsubscribe();
    message.textContent = '';
    final.textContent = '';
    words.replaceChildren();
    tokens = [];
    followLive = true;
    select(null);
    if (!modelSelect.value) return void (message.textContent = 'Choose a model first (train one on the Training runs page).');
    if (!TYPES.has(file.type)) return void (message.textContent = `${file.name}: JPEG, PNG or WebP please (got ${file.type || 'an unknown type'})`);
    try {
      const loaded = await loadPicture(canvas, file);
      if (superseded()) return;
      picture = loaded;
      drawAttention(picture, null);
      view.hidden = false;
    } catch {
      if (superseded()) return;
      return void (message.textContent = `${file.name}: this browser cannot decode the image`);
    }
    status.textContent = 'uploading…';
    let requestId: string;
    try {
      const input = { modelId: modelSelect.value, method: methodSelect.value, imageBase64: await readAsDataUrl(file) };
      requestId = (await query<{ requestCaption: { id: string } }>(REQUEST, { input })).requestCaption.id;
    } catch (error) {
      if (superseded()) return;
      status.textContent = '';
      return void (message.textContent = (error as Error).message);
    }
    if (superseded()) return;
    status.textContent = 'captioning…';
    status.dataset.request = requestId;
    unsubscribe = subscribe<{ captionStream: StreamEvent }>(
      STREAM,
      { id: requestId },
      ({ captionStream: event }) => {
        if (!event.done) return addWord(event);
        status.textContent = `done: ${tokens.length} words`;
        final.textContent = event.caption ?? '';
      },
      (error) => {
        status.textContent = '';
        message.textContent = error.message;
      },
    );
  };

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) void caption(file);
  });
  dropzone.addEventListener('dragover', (event) => {
    event.preventDefault();
    dropzone.classList.add('over');
  });
  dropzone.addEventListener('dragleave', () => dropzone.classList.remove('over'));
  dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropzone.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void caption(file);
  });

  query<{ models: ModelRow[] }>(MODELS)
    .then(({ models }) => {
      const label = (m: ModelRow) => (typeof m.metrics?.valLoss === 'number' ? `${m.name} · val loss ${m.metrics.valLoss.toFixed(3)}` : m.name);
      modelSelect.replaceChildren(...models.map((m) => h('option', { value: m.id }, label(m))));
      if (modelId && models.some((m) => m.id === modelId)) modelSelect.value = modelId;
      else if (modelId) message.textContent = `no model ${modelId}; choose another`;
      if (models.length === 0) message.textContent = 'No models yet: a training run that succeeds registers one.';
    })
    .catch((error: Error) => (message.textContent = error.message));

  return () => {
    latest++; // an upload still in flight does not subscribe after the page is left
    unsubscribe();
    document.removeEventListener('keydown', onKey);
  };
}
