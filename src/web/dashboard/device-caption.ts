// "On this device": the caption page's model runs in this browser (src/ml/browser, bundled apart and loaded
// with import() from the URL the server names in /assets/device-manifest.json; the dashboard imports no ML
// code). The model's files come from Model.webFiles with the API key; once loaded, captioning needs no network.
import { apiKey, query } from './api.ts';
import type { CaptionWord } from './caption-words.ts';

/** What the page uses of the bundle's DeviceCaptioner (src/ml/browser/captioner.ts). */
interface DeviceCaptioner {
  readonly backend: string;
  readonly loadMs: number;
  readonly gridSize: number;
  stream(image: Blob, opts?: { method?: string; beamWidth?: number }): AsyncGenerator<{ token: string; attention: Float32Array }>;
  dispose(): void;
}

interface DeviceBundle {
  loadDeviceCaptioner(options: {
    modelUrl: string;
    headers?: Record<string, string>;
    wasmFiles: Record<string, string>;
  }): Promise<DeviceCaptioner>;
}

// a reference ("name@alias", "name:3") or an id, read now: an alias moved later loads the new version next time
const WEB_FILES = `query WebFiles($ref: String!) { modelByRef(ref: $ref) { id webFiles { modelJson } } }`;

let loaded: { ref: string; modelId: string; captioner: Promise<DeviceCaptioner> } | undefined;

async function load(model: { webFiles: { modelJson: string } | null }): Promise<DeviceCaptioner> {
  if (!model.webFiles)
    throw new Error(
      'this model cannot caption in the browser: saved before the artifact store, or a backbone model saved before backbones were stored with models (train it again)',
    );
  const manifest = (await (await fetch('/assets/device-manifest.json')).json()) as { script: string; wasmFiles: Record<string, string> };
  const bundle = (await import(manifest.script)) as DeviceBundle;
  const key = apiKey.get();
  return bundle.loadDeviceCaptioner({
    modelUrl: model.webFiles.modelJson,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    wasmFiles: manifest.wasmFiles,
  });
}

/** The model's captioner in this browser, loaded once per chosen model (the previous one is released). */
export async function deviceCaptioner(ref: string): Promise<DeviceCaptioner> {
  let model: { id: string; webFiles: { modelJson: string } | null };
  try {
    ({ modelByRef: model } = await query<{ modelByRef: typeof model }>(WEB_FILES, { ref }));
  } catch (error) {
    // offline (or the server gone): the model loaded for this choice keeps captioning with no network
    if (loaded?.ref === ref) return loaded.captioner;
    throw error;
  }
  const modelId = model.id;
  if (loaded?.modelId !== modelId) {
    const previous = loaded?.captioner;
    previous?.then((c) => c.dispose()).catch(() => undefined);
    const captioner = load(model);
    loaded = { ref, modelId, captioner };
    captioner.catch(() => {
      if (loaded?.captioner === captioner) loaded = undefined; // a failed load is tried again next time
    });
  }
  loaded.ref = ref;
  return loaded.captioner;
}

/** Captions `image` here, word by word; says the backend, load time and time per word through `status`. */
export async function captionOnDevice(
  /** the page's model choice: a reference ("name@alias", "name:3") or an id */
  modelRef: string,
  image: Blob,
  method: string,
  on: { word: (word: CaptionWord) => void; status: (text: string) => void; superseded: () => boolean },
): Promise<string | undefined> {
  on.status('loading the model into this browser…');
  const captioner = await deviceCaptioner(modelRef);
  if (on.superseded()) return undefined;
  on.status(`captioning on this device (${captioner.backend})…`);
  const words: string[] = [];
  const started = performance.now();
  let firstMs = 0;
  // the beam width is left to the caption settings' default (src/ml/settings/caption.ts), as on the server
  const opts = { method: method === 'BEAM' ? 'beam' : 'greedy' };
  for await (const event of captioner.stream(image, opts)) {
    if (on.superseded()) return undefined;
    if (words.length === 0) firstMs = performance.now() - started;
    words.push(event.token);
    on.word({ token: event.token, attention: Array.from(event.attention), gridSize: captioner.gridSize });
  }
  const totalMs = performance.now() - started;
  const perWord = words.length > 1 ? (totalMs - firstMs) / (words.length - 1) : totalMs;
  on.status(
    `done on this device: ${words.length} words · backend ${captioner.backend} · model loaded in ${Math.round(captioner.loadMs)} ms · ` +
      `first word ${Math.round(firstMs)} ms · ${perWord.toFixed(1)} ms per word`,
  );
  return words.join(' ');
}
