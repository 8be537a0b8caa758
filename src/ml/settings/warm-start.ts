// Warm start (startTraining's `initFrom`): a run that starts from a trained model's weights must build
// the same architecture. The settings that shape the weights are taken from the parent model where the
// run leaves them automatic, and a value the run gives that differs from the parent's is refused, naming
// the setting. The vocabulary is not one of them: the run keeps the parent's words and ids and appends
// the new data's words it lacks (src/ml/warm-start.ts). Pure data, no imports outside this folder: the
// API may load this file.
import { SettingError } from './spec.ts';
import type { SettingValues } from './training.ts';

/** What fixes the shapes of a model's weights, as a stored model config says it. */
export interface ParentArchitecture {
  units: number;
  embeddingDim: number;
  encoderDim: number;
  gridSize: number;
  imageSize: number;
  /** the CNN's conv channels; null: a pretrained backbone */
  channels: number[] | null;
  /** the backbone's model.json (null: the CNN) */
  backbone: string | null;
  backboneLayer: string | null;
  deepOutput: boolean;
}

/** The settings a warm-started run takes from its parent, in the order they are checked. */
export const ARCHITECTURE_SETTINGS = [
  'units',
  'embeddingDim',
  'deepOutput',
  'encoderDim',
  'gridSize',
  'imageSize',
  'channels',
  'backbone',
  'backboneLayer',
] as const;

/** Encoder settings (GraphQL: input.encoder.…); the others are top-level. */
export const ENCODER_ARCHITECTURE: ReadonlySet<string> = new Set([
  'encoderDim',
  'gridSize',
  'imageSize',
  'channels',
  'backbone',
  'backboneLayer',
]);

const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);

/** A stored model config (src/ml's ModelConfig as JSON) → its architecture; null when it does not say it. */
export function parentArchitectureOf(json: unknown): ParentArchitecture | null {
  if (typeof json !== 'object' || json === null) return null;
  const c = json as Record<string, unknown>;
  const encoder = (typeof c.encoder === 'object' && c.encoder !== null ? c.encoder : {}) as Record<string, unknown>;
  const sizes = [int(c.units), int(c.embeddingDim), int(c.encoderDim), int(c.gridSize), int(encoder.imageSize)];
  if (sizes.some((s) => s === null)) return null;
  const [units, embeddingDim, encoderDim, gridSize, imageSize] = sizes as number[];
  const base = { units: units!, embeddingDim: embeddingDim!, encoderDim: encoderDim!, gridSize: gridSize!, imageSize: imageSize! };
  const deepOutput = c.deepOutput === true;
  if (encoder.kind === 'cnn' && Array.isArray(encoder.channels) && encoder.channels.every((x) => int(x) !== null)) {
    return { ...base, channels: encoder.channels as number[], backbone: null, backboneLayer: null, deepOutput };
  }
  if (encoder.kind === 'pretrained' && typeof encoder.url === 'string') {
    const layer = typeof encoder.layer === 'string' ? encoder.layer : null;
    return { ...base, channels: null, backbone: encoder.url, backboneLayer: layer, deepOutput };
  }
  return null;
}

const show = (v: unknown) => (v === null || v === undefined ? 'none' : Array.isArray(v) ? `[${v.join(', ')}]` : String(v));
const same = (a: unknown, b: unknown) => (Array.isArray(a) && Array.isArray(b) ? a.join() === b.join() : a === b);

/**
 * The run's values with the parent's architecture for every architecture setting the client did not
 * give (`given`: the names it gave; a default such as gridSize's 8 is not "given"); SettingError naming
 * the first one it gave that differs from the parent's.
 */
export function inheritArchitecture(values: SettingValues, given: ReadonlySet<string>, parent: ParentArchitecture): SettingValues {
  const out: Record<string, unknown> = { ...values };
  for (const key of ARCHITECTURE_SETTINGS) {
    const theirs = parent[key];
    if (!given.has(key)) {
      if (theirs === null) {
        if (key === 'channels') out[key] = null;
        else delete out[key];
      } else out[key] = Array.isArray(theirs) ? [...theirs] : theirs;
    } else if (!same(values[key], theirs)) {
      throw new SettingError(
        key,
        `is ${show(theirs)} in the model the run starts from (initFrom), got ${show(values[key])}: leave it out or give the same value`,
      );
    }
  }
  return out as unknown as SettingValues;
}
