// Adam (Keras defaults: β1 0.9, β2 0.999, ε 1e-7) over a fixed, ordered list of variables, with
// state that can be saved and restored exactly, and global-norm gradient clipping.
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './model/errors.ts';

export interface AdamState {
  /** number of updates applied */
  iterations: number;
  /** first and second moments, by variable name */
  moments: Map<string, tf.Tensor>;
}

export class Adam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private iterations = 0;

  constructor(
    private readonly names: readonly string[],
    private readonly vars: readonly tf.Variable[],
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    // the zeros are disposed by tidy; the variables keep their own reference to the data
    const slots = (): tf.Variable[] => tf.tidy(() => vars.map((v) => tf.variable(tf.zerosLike(v), false)));
    this.m = slots();
    this.v = slots();
  }

  get step(): number {
    return this.iterations;
  }

  /** One update; grads are in the order of the variables. */
  apply(grads: readonly tf.Tensor[]): void {
    this.iterations++;
    const t = this.iterations;
    const lr = (this.learningRate * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    tf.tidy(() => {
      grads.forEach((g, i) => {
        this.m[i].assign(tf.add(tf.mul(this.m[i], this.beta1), tf.mul(g, 1 - this.beta1)));
        this.v[i].assign(tf.add(tf.mul(this.v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        this.vars[i].assign(tf.sub(this.vars[i], tf.div(tf.mul(this.m[i], lr), tf.add(tf.sqrt(this.v[i]), this.epsilon))));
      });
    });
  }

  /** Named moment tensors (views of the live state: read before the next update). */
  stateTensors(): [string, tf.Tensor][] {
    return this.names.flatMap((name, i): [string, tf.Tensor][] => [
      [`m/${name}`, this.m[i]],
      [`v/${name}`, this.v[i]],
    ]);
  }

  load(state: AdamState): void {
    this.names.forEach((name, i) => {
      for (const [kind, slots] of [['m', this.m], ['v', this.v]] as const) {
        const saved = state.moments.get(`${kind}/${name}`);
        if (!saved || !tf.util.arraysEqual(saved.shape, slots[i].shape)) {
          throw new ModelError('INCOMPATIBLE_CHECKPOINT', `optimiser state ${kind}/${name} missing or misshapen`);
        }
        slots[i].assign(saved);
      }
    });
    this.iterations = state.iterations;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** Scales gradients so their global L2 norm is at most clipNorm (0 = no clipping). */
export function clipByGlobalNorm(grads: tf.Tensor[], clipNorm: number): tf.Tensor[] {
  if (clipNorm <= 0) return grads;
  const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))); // scalar
  const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm)); // 1 when under the limit
  return grads.map((g) => tf.mul(g, scale));
}
