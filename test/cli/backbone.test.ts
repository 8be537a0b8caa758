// `train --backbone`: a small pretrained TF.js LayersModel (saved to disk here) as the encoder;
// its features are cached under OUT/features and the saved model captions through it.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';
import { saveLayersModel } from '../helpers/tfjs-model.ts';

const SIZE = 24;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'glimpse-cli-backbone-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('glimpse train --backbone', () => {
  it('trains on cached backbone features and captions with the saved model', async () => {
    const data = join(work, 'data');
    const out = join(work, 'run');
    expect((await runCli(['dataset', 'synth', '--out', data, '--images', '8', '--seed', '2', '--size', String(SIZE)])).code).toBe(0);
    const network = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [SIZE, SIZE, 3],
          filters: 5,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          name: 'features',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.globalAveragePooling2d({ name: 'pool' }),
      ],
    });
    const modelJson = await saveLayersModel(network, join(work, 'backbone'));
    network.dispose();

    const trained = await runCli([
      'train',
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '1',
      '--batch-size',
      '20',
      '--backbone',
      modelJson,
      '--backbone-layer',
      'features',
      '--image-size',
      String(SIZE),
      '--units',
      '16',
      '--embedding-dim',
      '8',
      '--encoder-dim',
      '8',
    ]);
    expect(trained.stderr).not.toMatch(/error/);
    expect(trained.code).toBe(0);
    expect(trained.stdout).toMatch(/model saved to/);
    // each of the 8 images (train and validation) encoded once and cached as <backbone key>/<image hash>.f32
    expect((await readdir(join(out, 'features'), { recursive: true })).filter((f) => f.endsWith('.f32'))).toHaveLength(8);

    const captioned = await runCli(['caption', join(data, 'images', 'shapes_000002.png'), '--model', out, '--max-length', '4']);
    expect(captioned.code).toBe(0);
    expect(captioned.stdout.trim().split(' ').length).toBeGreaterThan(0);

    const clash = await runCli(['train', '--data', data, '--out', out, '--backbone', modelJson, '--channels', '4,8']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/error \[INVALID_OPTION\]: --channels/);
  });
});
