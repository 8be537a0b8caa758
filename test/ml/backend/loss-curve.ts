// The loss-curve check shared by the fused kernels' tests: a short training run (12 Adam steps, learning rate 1e-2,
// global-norm clip 5) of a fresh model on one fixed batch (features, or pixels for a cnn encoder), once with a
// native part on and once off; the two curves must agree to 1e-4 relative at every step, and the run must learn.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { CaptionModel, type ModelConfig } from '../../../src/ml/index.ts';
import { type NativePart, setNativePart } from '../../../src/ml/kernels/native-kernel.ts';
import { Adam } from '../../../src/ml/optimizer.ts';

export interface CurveSetup {
  config: ModelConfig;
  /** value i of the input batch: features [4, 16, 20], or `inputShape` */
  feature: (i: number) => number;
  /** the input's shape where it is not the [4, 16, 20] feature grid (pixels [4, S, S, 3] for a cnn encoder) */
  inputShape?: number[];
  /** four captions of six tokens (ids below the config's vocabulary) */
  captions: number[][];
  /** the model's weight seed */
  modelSeed: number;
  /** the loss's own seed per step (context dropout), or none */
  lossSeeds?: boolean;
}

function curve(setup: CurveSetup, part: NativePart, on: boolean, features: tf.Tensor3D | tf.Tensor4D, captions: tf.Tensor2D): number[] {
  setNativePart(part, on);
  const model = CaptionModel.create(setup.config, setup.modelSeed, 20);
  const vars = model.weights.list();
  const adam = new Adam(model.weights.names, vars, 1e-2);
  const losses: number[] = [];
  for (let step = 0; step < 12; step++) {
    losses.push(
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => model.loss(features, captions, setup.lossSeeds ? { seed: step } : undefined), vars);
        adam.apply(
          vars.map((v) => grads[v.name]),
          5,
        );
        return value.dataSync()[0]!;
      }),
    );
  }
  adam.dispose();
  model.dispose();
  return losses;
}

/** the curve with `part` on equals the one with it off (≤ 1e-4 relative per step), and it learns */
export function expectSameLossCurve(setup: CurveSetup, part: NativePart): void {
  const shape = setup.inputShape ?? [4, 16, 20];
  const values = Float32Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => setup.feature(i));
  const features = tf.tensor<tf.Rank>(values, shape) as tf.Tensor3D | tf.Tensor4D;
  const captions = tf.tensor2d(setup.captions, [4, 6], 'int32');
  try {
    const fused = curve(setup, part, true, features, captions);
    const reference = curve(setup, part, false, features, captions);
    expect(fused[11]).toBeLessThan(fused[0]!); // it learns
    for (const [i, loss] of fused.entries())
      expect(Math.abs(loss - reference[i]!) / Math.abs(reference[i]!), `step ${i}`).toBeLessThanOrEqual(1e-4);
  } finally {
    setNativePart(part, true);
    tf.dispose([features, captions]);
  }
}
