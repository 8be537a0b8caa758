// "#/caption[/<model reference>]": find a model by name (a version, or an alias `name@alias` that is resolved
// again for every image), drop or pick an image, watch the caption arrive word by word over captionStream, and
// hover or step through the words (←/→) to see where the model looked.
// "on this device" runs the model in this browser instead (device-caption.ts), no upload.
// The words live in caption-words.ts, the API calls in caption-request.ts.
import { ApiRequestError, type Connection, query } from './api.ts';
import { loadPicture } from './attention-canvas.ts';
import { followCaption, requestCaption } from './caption-request.ts';
import { wordList, type WordList } from './caption-words.ts';
import { captionOnDevice } from './device-caption.ts';
import { h, select } from './dom.ts';
import { type Choice, type SearchSelect, searchSelect } from './search-select.ts';

const TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);

interface ModelChoice {
  id: string;
  name: string;
  version: number;
  metrics: { valLoss?: number | null } | null;
}

interface NameChoice {
  name: string;
  aliases: { alias: string; version: number }[];
}

/** the aliases of the names, then the newest models, whose name holds the text: what the model choice offers */
const FIND = `query FindModels($name: String) {
  modelNamesConnection(first: 10, nameContains: $name) { edges { node { name aliases { alias version } } } }
  modelsConnection(first: 20, nameContains: $name) { edges { node { id name version metrics } } } }`;
const ONE = `query Model($ref: String!) { modelByRef(ref: $ref) { id name version metrics } }`;

const choice = (m: ModelChoice): Choice => [
  m.id,
  `${m.name}:${m.version}${typeof m.metrics?.valLoss === 'number' ? ` · val loss ${m.metrics.valLoss.toFixed(3)}` : ''}`,
];

/** `name@alias`: the value is the reference itself, so each request goes to the version it points at then */
const aliasChoice = (name: string, alias: string, version: number): Choice => [`${name}@${alias}`, `${name}@${alias} (now :${version})`];

async function findModels(text: string): Promise<Choice[]> {
  const found = await query<{ modelNamesConnection: Connection<NameChoice>; modelsConnection: Connection<ModelChoice> }>(FIND, {
    name: text || null,
  });
  const aliases = found.modelNamesConnection.edges.flatMap(({ node }) =>
    node.aliases.map((a) => aliasChoice(node.name, a.alias, a.version)),
  );
  return [...aliases, ...found.modelsConnection.edges.map(({ node }) => choice(node))];
}

/** The page's elements, in place under root. */
function layout(root: HTMLElement, words: WordList, models: SearchSelect) {
  const modelSelect = models.select;
  // beam search first: the caption settings' default (src/ml/settings/caption.ts)
  const methodSelect = select('method', [
    ['BEAM', 'beam search'],
    ['GREEDY', 'greedy'],
  ]);
  const whereSelect = select('where', [
    ['server', 'on the server'],
    ['device', 'on this device'],
  ]);
  const fileInput = h('input', { type: 'file', accept: [...TYPES].join(','), class: 'file' }) as HTMLInputElement;
  const dropzone = h(
    'div',
    { class: 'dropzone' },
    'Drop a JPEG, PNG or WebP image here, or ',
    h('label', { class: 'pick' }, fileInput, 'choose a file'),
  );
  const status = h('p', { class: 'caption-status' });
  const message = h('p', { class: 'error' });
  const canvas = h('canvas', { class: 'attention', width: '0', height: '0' }) as HTMLCanvasElement;
  const final = h('p', { class: 'caption-final' });
  // shown once an image is loaded
  const view = h('div', { class: 'caption-view', hidden: '' }, canvas, h('div', { class: 'caption-side' }, ...words.elements, final));
  root.replaceChildren(
    h('h1', {}, 'Caption an image'),
    h(
      'p',
      { class: 'controls' },
      h('label', {}, 'model ', models.search, ' ', modelSelect),
      ' ',
      h('label', {}, 'decoding ', methodSelect),
      ' ',
      h('label', {}, 'run ', whereSelect),
    ),
    dropzone,
    message,
    status,
    view,
  );
  return { modelSelect, methodSelect, whereSelect, fileInput, dropzone, status, message, canvas, final, view };
}

/** Calls onFile with each image picked in fileInput or dropped on dropzone. */
function onImageChosen(dropzone: HTMLElement, fileInput: HTMLInputElement, onFile: (file: File) => void): void {
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) onFile(file);
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
    if (file) onFile(file);
  });
}

/**
 * Fills the model choice with the aliases and newest models, then chooses `ref` (a model id, "name:version" or
 * "name@alias", wherever it is in the list); problems go to message.
 */
async function listModels(models: SearchSelect, message: HTMLElement, ref?: string): Promise<void> {
  const found = await models.refresh();
  if (found === 0) message.textContent = 'No models yet: a training run that succeeds registers one.';
  if (!ref) return;
  try {
    const { modelByRef: model } = await query<{ modelByRef: ModelChoice }>(ONE, { ref });
    const alias = /@([a-z][a-z0-9_-]{0,31})$/.exec(ref);
    models.choose(alias ? aliasChoice(model.name, alias[1]!, model.version) : choice(model));
  } catch (error) {
    if (!(error instanceof ApiRequestError && (error.code === 'NOT_FOUND' || error.code === 'BAD_USER_INPUT'))) throw error;
    message.textContent = `no model ${ref}; choose another`;
  }
}

/** Renders the page; returns a function that stops its subscription and key handler. */
export function renderCaptionPage(root: HTMLElement, modelRef?: string): () => void {
  const words = wordList();
  const fail = (text: string) => void (message.textContent = text);
  const models = searchSelect({
    name: 'model',
    placeholder: 'search models by name',
    find: findModels,
    onError: (error) => fail(error.message),
  });
  const { modelSelect, methodSelect, whereSelect, fileInput, dropzone, status, message, canvas, final, view } = layout(root, words, models);
  let unsubscribe = () => {};
  /** the newest image's number: an older one still loading or uploading stops at its next step */
  let latest = 0;

  const caption = async (file: File) => {
    const attempt = ++latest;
    const superseded = () => attempt !== latest;
    unsubscribe();
    message.textContent = '';
    final.textContent = '';
    words.clear();
    if (!modelSelect.value) return fail('Choose a model first (train one on the Training runs page).');
    if (!TYPES.has(file.type)) return fail(`${file.name}: JPEG, PNG or WebP please (got ${file.type || 'an unknown type'})`);
    try {
      const picture = await loadPicture(canvas, file);
      if (superseded()) return;
      words.show(picture); // drawn plain until a word arrives
      view.hidden = false;
    } catch {
      return superseded() ? undefined : fail(`${file.name}: this browser cannot decode the image`);
    }
    if (whereSelect.value === 'device') {
      try {
        const text = await captionOnDevice(modelSelect.value, file, methodSelect.value, {
          word: (word) => words.add(word),
          status: (text) => void (status.textContent = text),
          superseded,
        });
        if (text !== undefined) final.textContent = text;
      } catch (error) {
        if (superseded()) return;
        status.textContent = '';
        fail((error as Error).message);
      }
      return;
    }
    status.textContent = 'uploading…';
    let requestId: string;
    try {
      requestId = await requestCaption(file, modelSelect.value, methodSelect.value);
    } catch (error) {
      if (superseded()) return;
      status.textContent = '';
      return fail((error as Error).message);
    }
    if (superseded()) return;
    status.textContent = 'captioning…';
    status.dataset.request = requestId;
    unsubscribe = followCaption(requestId, {
      word: (event) => words.add(event),
      done: (text) => {
        status.textContent = `done: ${words.count} words`;
        final.textContent = text;
      },
      error: (error) => {
        status.textContent = '';
        fail(error.message);
      },
    });
  };

  onImageChosen(dropzone, fileInput, (file) => void caption(file));
  listModels(models, message, modelRef).catch((error: Error) => fail(error.message));

  return () => {
    latest++; // an upload still in flight does not subscribe after the page is left
    models.stop();
    unsubscribe();
    words.dispose();
  };
}
