// A pretrained backbone's network and its feature grid, shared by the worker (./backbone.ts: files through the
// guarded access) and the browser (src/ml/browser: files from the API's content-hashed URLs), so both run the
// same code: model.json → LayersModel or GraphModel, the configured layer's output, the pixels scaled to the
// backbone's inputRange, the feature map average-pooled (or bilinearly resized) to the gridSize×gridSize grid.
// No Node import here (src/ml/browser imports it; test/architecture.test.ts checks).
import * as tf from '@tensorflow/tfjs';
import type { EncoderConfig } from '../types.ts';

export type PretrainedEncoder = Extract<EncoderConfig, { kind: 'pretrained' }>;

/** the inputRange when the config names none: pixels 0..1 → -1..1 */
export const DEFAULT_INPUT_RANGE: readonly [number, number] = [-1, 1];

/** a failure whose message is safe to report (our own words, or those of the functions that read the files) */
export class BackboneSourceError extends Error {}

/** pixels [1, S, S, 3] → feature map [1, h, w, C] */
export type FeatureFn = (x: tf.Tensor4D) => tf.Tensor4D;

/** reads model.json (name null) or a weight file its manifest names, relative to model.json */
export type BackboneFileReader = (name: string | null) => Promise<ArrayBuffer>;

/** IOHandler over the weight reader (tfjs' own http handler would bypass the reader's checks on redirects) */
function handler(modelJson: tf.io.ModelJSON, readWeights: (name: string) => Promise<ArrayBuffer>): tf.io.IOHandler {
  return {
    load: () =>
      tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const buffers: ArrayBuffer[] = [];
        for (const name of manifest.flatMap((group) => group.paths)) buffers.push(await readWeights(name));
        return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
      }),
  };
}

/** The backbone's network from its files: the function from pixels to the configured layer's feature map. */
export async function loadFeatureFn(
  encoder: Pick<PretrainedEncoder, 'layer'>,
  read: BackboneFileReader,
): Promise<{ run: FeatureFn; dispose: () => void }> {
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(new TextDecoder().decode(await read(null))) as tf.io.ModelJSON;
  } catch (error) {
    if (error instanceof BackboneSourceError) throw error;
    throw new BackboneSourceError('model.json is not valid JSON', { cause: error });
  }
  const source = handler(modelJson, read);
  if (modelJson.format === 'graph-model') {
    const graph = await tf.loadGraphModel(source);
    return {
      run: (x) => (encoder.layer ? graph.execute(x, encoder.layer) : graph.execute(x)) as tf.Tensor4D,
      dispose: () => graph.dispose(),
    };
  }
  const layers = await tf.loadLayersModel(source);
  if (encoder.layer && !layers.layers.some((l) => l.name === encoder.layer)) {
    layers.dispose();
    throw new BackboneSourceError(`the model has no layer named ${JSON.stringify(encoder.layer)}`);
  }
  const model = encoder.layer ? tf.model({ inputs: layers.inputs, outputs: layers.getLayer(encoder.layer).output }) : layers;
  return { run: (x) => model.predict(x) as tf.Tensor4D, dispose: () => layers.dispose() };
}

/**
 * One image's features [G·G · C]: pixels [S, S, 3] in 0..1 (as src/ml/data makes them) scaled to inputRange,
 * through the network, the map [1, h, w, C] average-pooled to G×G when G divides h and w, else resized bilinearly.
 */
export function featureGrid(run: FeatureFn, pixels: Float32Array, encoder: PretrainedEncoder, gridSize: number): Float32Array {
  const { imageSize: S, inputRange = DEFAULT_INPUT_RANGE } = encoder;
  const G = gridSize;
  return tf.tidy(() => {
    const x = tf.tensor4d(pixels, [1, S, S, 3]); // [1, S, S, 3] in 0..1
    const scaled = tf.add(tf.mul(x, inputRange[1] - inputRange[0]), inputRange[0]) as tf.Tensor4D;
    const map = run(scaled); // [1, h, w, C]
    const [, h, w] = map.shape;
    const grid =
      h % G === 0 && w % G === 0
        ? tf.avgPool(map, [h / G, w / G], [h / G, w / G], 'valid') // [1, G, G, C]
        : tf.image.resizeBilinear(map, [G, G]); // [1, G, G, C]
    return grid.dataSync() as Float32Array;
  });
}

/** The feature map's [h, w, C] for S×S images (a probe with zeros), or a reason it is no feature map. */
export function probeFeatureMap(run: FeatureFn, imageSize: number): { channels: number } | { error: string; cause?: unknown } {
  let shape: number[];
  try {
    const probe = tf.tidy(() => run(tf.zeros([1, imageSize, imageSize, 3])));
    shape = probe.shape;
    probe.dispose();
  } catch (cause) {
    return { error: 'cannot run', cause };
  }
  const [, h, w, channels] = shape;
  if (!(h! >= 1 && w! >= 1 && channels! >= 1) || shape.length !== 4)
    return { error: `output [${shape}] is not a [1, h, w, C] feature map` };
  return { channels: channels! };
}
