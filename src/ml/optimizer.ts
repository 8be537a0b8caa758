// Adam from TF.js (tf.train.adam: β1 0.9, β2 0.999, ε 1e-7, the Keras defaults) over a fixed,
// ordered list of variables; its state saved and restored through TF.js's own getWeights/setWeights
// (`iter`, `<weight>/m`, `<weight>/v`), named by the model's weight names so a checkpoint does not
// depend on tf variable names; and global-norm gradient clipping, which TF.js optimisers lack.
// Measured against the hand-written Adam it replaced (wasm+openblas, reference shapes, a loaded
// 2-core machine): its update is ~10–15% slower (two more full-size ops per weight: bias
// corrections), ≈ 10–40 ms of a ≈ 350 ms training step; kept for the standard optimiser and state.
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './model/errors.ts';
import type { NamedTensor } from './model/weightsFile.ts';

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPSILON = 1e-7;

/** x^n as the running product of float32 multiplications x·x·…·x that training computes. */
function float32Power(x: number, n: number): number {
  const base = Math.fround(x);
  let product = base;
  // a product of two float32 values is exact in float64, so fround rounds it as a float32 multiply does
  for (let i = 1; i < n; i++) product = Math.fround(product * base);
  return product;
}

/**
 * tf.train.adam's optimizer, restoring exactly. Its setWeights sets the running β1ᵗ and β2ᵗ with
 * pow(), while training reaches them by one float32 multiplication per step; the two differ in
 * the last bit from step 2 (β2) and step 8 (β1) on, measured, and a resumed run then drifts from
 * the uninterrupted one. After setWeights this replays the products instead.
 */
class ResumableAdam extends tf.AdamOptimizer {
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    await super.setWeights(weightValues);
    // accBeta1/2 are private in the typings: the fields AdamOptimizer keeps β1ᵗ⁺¹ and β2ᵗ⁺¹ in
    const running = this as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
    const t = this.iterations;
    tf.tidy(() => {
      running.accBeta1.assign(tf.scalar(float32Power(this.beta1, t + 1)));
      running.accBeta2.assign(tf.scalar(float32Power(this.beta2, t + 1)));
    });
  }
}

export class Adam {
  private readonly optimizer: ResumableAdam;
  private readonly nameOfVariable: Map<string, string>;

  constructor(
    private readonly names: readonly string[],
    private readonly vars: readonly tf.Variable[],
    readonly learningRate: number,
  ) {
    this.optimizer = new ResumableAdam(learningRate, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON);
    this.nameOfVariable = new Map(vars.map((v, i) => [v.name, names[i]]));
  }

  /** updates applied so far */
  get step(): number {
    return this.optimizer.iterations;
  }

  /** TF.js's serialisable config of the optimiser (className Adam) */
  get config(): { className: string; config: tf.serialization.ConfigDict } {
    return { className: tf.AdamOptimizer.className, config: this.optimizer.getConfig() };
  }

  /** One update; grads are in the order of the variables (the order the moments are kept in). */
  apply(grads: readonly tf.Tensor[]): void {
    this.optimizer.applyGradients(this.vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
  }

  /**
   * Calls `use` with the state by weight name (`iter`, then every `<weight>/m`, then every
   * `<weight>/v`; only `iter` before the first update). The moments are the live variables:
   * read them before the next update.
   */
  async withState<T>(use: (state: NamedTensor[]) => Promise<T>): Promise<T> {
    const [iter, ...moments] = await this.optimizer.getWeights();
    try {
      return await use([iter, ...moments.map(({ name, tensor }) => ({ name: this.weightName(name), tensor }))]);
    } finally {
      iter.tensor.dispose(); // getWeights makes it anew; the moments stay the optimiser's
    }
  }

  /** Restores a state written by withState (the caller keeps and disposes the given tensors). */
  async load(state: ReadonlyMap<string, tf.Tensor>): Promise<void> {
    const iter = state.get('iter');
    if (iter?.size !== 1) throw new ModelError('INCOMPATIBLE_CHECKPOINT', 'optimiser state: no iteration count');
    const moments = state.size === 1 ? [] : (['m', 'v'] as const).flatMap((kind) => this.moments(state, kind));
    // setWeights turns each tensor into a variable of its own (the data is shared, not copied)
    await this.optimizer.setWeights([{ name: 'iter', tensor: iter }, ...moments]);
  }

  dispose(): void {
    this.optimizer.dispose();
  }

  private moments(state: ReadonlyMap<string, tf.Tensor>, kind: 'm' | 'v'): NamedTensor[] {
    return this.names.map((name, i) => {
      const saved = state.get(`${name}/${kind}`);
      if (!saved || !tf.util.arraysEqual(saved.shape, this.vars[i].shape)) {
        throw new ModelError('INCOMPATIBLE_CHECKPOINT', `optimiser state ${name}/${kind} missing or misshapen`);
      }
      return { name: `${this.vars[i].name}/${kind}`, tensor: saved };
    });
  }

  private weightName(stateName: string): string {
    const cut = stateName.lastIndexOf('/');
    const weight = this.nameOfVariable.get(stateName.slice(0, cut));
    if (weight === undefined) throw new ModelError('INVALID_CONFIG', `optimiser state of an unknown variable: ${stateName}`);
    return `${weight}${stateName.slice(cut)}`;
  }
}

/** Scales gradients so their global L2 norm is at most clipNorm (0 = no clipping). */
export function clipByGlobalNorm(grads: tf.Tensor[], clipNorm: number): tf.Tensor[] {
  if (clipNorm <= 0) return grads;
  const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))); // scalar
  const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm)); // 1 when under the limit
  return grads.map((g) => tf.mul(g, scale));
}
