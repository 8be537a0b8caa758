// Saved models and checkpoints are TF.js weights: model.json's weightsManifest decodes with tf.io to
// exactly the in-memory weights, tf.io.loadWeights reads them over HTTP, and model.json names the
// architecture, config and vocabulary. Folders of the earlier format (written by the code of
// aa8f588, test/ml/fixtures/legacy-format) still load, and their checkpoints resume.
import { cp, mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/ml/saved-model.ts';
import { initBackend } from '../../../src/ml/backend.ts';
import { testBackendOptions } from '../../helpers/backend.ts';
import { readCheckpoint } from '../../../src/ml/checkpoint.ts';
import { CaptionModel } from '../../../src/ml/model/captionModel.ts';
import { BABY_MODEL_CONFIG } from '../../../src/ml/model/config.ts';
import type { GlimpseModelJSON } from '../../../src/ml/model/modelJson.ts';
import { train } from '../../../src/ml/train.ts';
import { Vocabulary } from '../../../src/ml/vocab.ts';
import { shapesImages, tempDir } from './fixtures.ts';

const LEGACY = path.join(import.meta.dirname, '..', 'fixtures', 'legacy-format');

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => {
  await initBackend(undefined, testBackendOptions());
  ({ dir, remove } = await tempDir('artifacts'));
});
afterAll(() => remove());

const readJson = async <T>(file: string): Promise<T> => JSON.parse(await readFile(file, 'utf8')) as T;

/** A served folder (GET only, files under root). */
async function serve(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    readFile(path.join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname)))
      .then((body) => res.end(body))
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server };
}

describe('saved model format', () => {
  it("decodes with tf.io.decodeWeights from model.json's manifest to exactly the in-memory weights", async () => {
    const vocab = Vocabulary.build(['a red circle', 'a blue square'], { topK: 10 });
    const model = CaptionModel.create({ ...BABY_MODEL_CONFIG, vocabSize: vocab.size }, 5);
    const modelDir = path.join(dir, 'model');
    await saveModel(modelDir, { model, vocab, metrics: { step: 1 } });

    const modelJson = await readJson<GlimpseModelJSON>(path.join(modelDir, 'model.json'));
    expect(modelJson.format).toBe('glimpse-caption-model');
    expect(modelJson.modelTopology.architecture).toBe('glimpse/show-attend-tell');
    expect(modelJson.modelTopology.config).toEqual(model.config);
    const savedVocab = await readJson(path.join(modelDir, modelJson.modelTopology.vocabulary));
    expect(savedVocab).toEqual(vocab.toJSON());

    const shards = await Promise.all(
      modelJson.weightsManifest.flatMap((g) => g.paths).map(async (p) => new Uint8Array(await readFile(path.join(modelDir, p))).buffer),
    );
    const decoded = tf.io.decodeWeights(tf.io.concatenateArrayBuffers(shards), tf.io.getWeightSpecs(modelJson.weightsManifest));
    expect(Object.keys(decoded).sort()).toEqual([...model.weights.names].sort());
    for (const [name, variable] of model.weights.entries()) {
      expect(decoded[name].shape).toEqual(variable.shape);
      expect(decoded[name].dataSync()).toEqual(variable.dataSync());
    }

    // tf.io's own loader reads the same weights over HTTP
    const { url, server } = await serve(modelDir);
    try {
      const loaded = await tf.io.loadWeights(modelJson.weightsManifest, url);
      for (const [name, variable] of model.weights.entries()) expect(loaded[name].dataSync()).toEqual(variable.dataSync());
      tf.dispose(Object.values(loaded));
    } finally {
      server.close();
    }
    tf.dispose(Object.values(decoded));

    const reloaded = await loadModel(modelDir);
    for (const [name, variable] of model.weights.entries())
      expect(reloaded.model.weights.get(name).dataSync()).toEqual(variable.dataSync());
    expect(reloaded.metrics).toEqual({ step: 1 });
    reloaded.model.dispose();
    model.dispose();
  });

  it('refuses a model.json that is not a Glimpse model, and truncated weights, with INVALID_ARTIFACT', async () => {
    const other = path.join(dir, 'other');
    await mkdir(other, { recursive: true });
    await writeFile(path.join(other, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [] }));
    await expect(loadModel(other)).rejects.toMatchObject({ code: 'INVALID_ARTIFACT', message: /not a Glimpse caption model/ });

    const before = tf.memory().numTensors;
    const cut = path.join(dir, 'cut');
    await cp(path.join(LEGACY, 'model'), cut, { recursive: true });
    await truncate(path.join(cut, 'weights.bin'), 1000);
    await expect(loadModel(cut)).rejects.toMatchObject({ code: 'INVALID_ARTIFACT', message: /do not match the manifest/ });
    expect(tf.memory().numTensors).toBe(before);
  });
});

interface Expected {
  trainConfig: { epochs: number; batchSize: number; learningRate: number; seed: number; valFraction: number; checkpointEvery: number };
  images: { count: number; seed: number; size: number };
  losses: Record<string, number>;
  weights: Record<string, { shape: number[]; sum: number; first: number[] }>;
}

describe('folders of the earlier format (glimpse-tensors/1)', () => {
  it('loads a model saved by the earlier code with the weights it saved', async () => {
    const expected = await readJson<Expected>(path.join(LEGACY, 'expected.json'));
    const { model, vocab } = await loadModel(path.join(LEGACY, 'model'));
    expect(vocab.size).toBe(model.config.vocabSize);
    expect([...model.weights.names].sort()).toEqual(Object.keys(expected.weights).sort());
    for (const [name, variable] of model.weights.entries()) {
      const data = Array.from(variable.dataSync());
      expect(variable.shape).toEqual(expected.weights[name].shape);
      expect(data.slice(0, 3)).toEqual(expected.weights[name].first);
      expect(data.reduce((a, b) => a + b, 0)).toBeCloseTo(expected.weights[name].sum, 4);
    }
    model.dispose();
  });

  it('reads a checkpoint of the earlier format with its Adam state under the TF.js names', async () => {
    const ck = await readCheckpoint(path.join(LEGACY, 'checkpoint'));
    expect(ck.meta.position.step).toBe(2);
    expect(ck.meta.trainConfig.vocabSize).toBe(5000); // written as topK
    expect(ck.optimizer.get('iter')!.dataSync()[0]).toBe(2);
    expect(ck.optimizer.size).toBe(1 + 2 * ck.weights.size);
    for (const [name, weight] of ck.weights) expect(ck.optimizer.get(`${name}/m`)!.shape).toEqual(weight.shape);
    tf.dispose([...ck.weights.values(), ...ck.optimizer.values()]);
  });

  it('resumes such a checkpoint: the next batch has the loss the earlier code computed', async () => {
    const expected = await readJson<Expected>(path.join(LEGACY, 'expected.json'));
    const backend = tf.getBackend();
    await tf.setBackend('cpu'); // the fixture's losses were computed on cpu
    try {
      const { count, seed, size } = expected.images;
      const images = await shapesImages(dir, count, seed, size);
      const losses = new Map<number, number>();
      const resumed = await train({
        images,
        checkpointDir: path.join(dir, 'resumed'),
        train: expected.trainConfig,
        resumeFrom: path.join(LEGACY, 'checkpoint'),
        evalImages: 0,
        onBatchEnd: (e) => void losses.set(e.step, e.loss),
      });
      // its own checkpoints are of today's format, and load as a model too
      const last = resumed.lastCheckpoint!;
      const ck = await readCheckpoint(last.path);
      expect(ck.optimizer.get('iter')!.dataSync()[0]).toBe(last.step);
      tf.dispose([...ck.weights.values(), ...ck.optimizer.values()]);
      const { model } = await loadModel(last.path);
      for (const [name, variable] of resumed.model.weights.entries())
        expect(model.weights.get(name).dataSync()).toEqual(variable.dataSync());
      model.dispose();
      resumed.model.dispose();
      // step 3 runs on the restored weights: the same loss; later steps follow TF.js's Adam
      expect(losses.get(3)).toBe(expected.losses['3']);
      expect([...losses.keys()]).toEqual(
        Object.keys(expected.losses)
          .map(Number)
          .filter((s) => s > 2),
      );
      for (const [step, loss] of losses) expect(loss).toBeCloseTo(expected.losses[String(step)], 2);
    } finally {
      await tf.setBackend(backend);
    }
  });
});
