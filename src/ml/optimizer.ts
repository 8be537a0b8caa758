// Adam from TF.js (tf.train.adam: β1 0.9, β2 0.999, ε 1e-7, the Keras defaults) over a fixed,
// ordered list of variables; its state saved and restored through TF.js's own getWeights/setWeights
// (`iter`, `<weight>/m`, `<weight>/v`), named by the model's weight names so a checkpoint does not
// depend on tf variable names; and global-norm gradient clipping, which TF.js optimisers lack.
// On wasm with the native kernels (wasm+openblas) the update and the clip's sums of squares run
// in native/optim.c, one pass per variable in place, with the same float32 operations in the same
// order (bit-identical results; test/ml/backend/native-optim.test.ts); tfjs' own ~13 kernels per
// variable otherwise.
import * as tf from '@tensorflow/tfjs';
import { type AdamScalars, type NativeOptimizer, nativeOptimizer } from './kernels/native-optim.ts';
import { ModelError } from './model/model-error.ts';
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

/** AdamOptimizer's fields that the typings keep private or protected */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * tf.train.adam's optimizer, restoring exactly. Its setWeights sets the running β1ᵗ and β2ᵗ with
 * pow(), while training reaches them by one float32 multiplication per step; the two differ in
 * the last bit from step 2 (β2) and step 8 (β1) on, measured, and a resumed run then drifts from
 * the uninterrupted one. After setWeights this replays the products instead.
 */
class ResumableAdam extends tf.AdamOptimizer {
  /**
   * applyGradients' update (grads in the variables' order, scaled by `scale`) through the native
   * optimiser: the same arithmetic, moments created as tfjs creates them, β1ᵗ/β2ᵗ and the
   * iteration count advanced by the same float32 operations.
   */
  applyNative(native: NativeOptimizer, vars: readonly tf.Variable[], grads: readonly tf.Tensor[], scale: number): void {
    const self = this as unknown as AdamInternals;
    const [acc1, acc2] = [self.accBeta1.dataSync()[0], self.accBeta2.dataSync()[0]];
    const s: AdamScalars = {
      scale,
      beta1: Math.fround(this.beta1),
      oneMinusBeta1: Math.fround(1 - this.beta1),
      beta2: Math.fround(this.beta2),
      oneMinusBeta2: Math.fround(1 - this.beta2),
      // float32 1 − β1ᵗ: the double difference of two float32 values rounds as the float32 one does
      oneMinusAccBeta1: Math.fround(1 - acc1),
      oneMinusAccBeta2: Math.fround(1 - acc2),
      negLr: Math.fround(-this.learningRate),
      epsilon: Math.fround(this.epsilon),
    };
    vars.forEach((w, i) => {
      const moment = (kind: 'm' | 'v') => ({ originalName: `${w.name}/${kind}`, variable: tf.tidy(() => tf.zerosLike(w).variable(false)) });
      self.accumulatedFirstMoment[i] ??= moment('m');
      self.accumulatedSecondMoment[i] ??= moment('v');
      native.adam(w, grads[i], self.accumulatedFirstMoment[i].variable, self.accumulatedSecondMoment[i].variable, s);
    });
    tf.tidy(() => {
      self.accBeta1.assign(tf.mul(self.accBeta1, this.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, this.beta2));
    });
    self.incrementIterations();
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    await super.setWeights(weightValues);
    // accBeta1/2 are private in the typings: the fields AdamOptimizer keeps β1ᵗ⁺¹ and β2ᵗ⁺¹ in
    const running = this as unknown as AdamInternals;
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

  /** the learning rate of the next updates (a schedule sets it before each step; the checkpointed config keeps the base rate) */
  setLearningRate(learningRate: number): void {
    (this.optimizer as unknown as { learningRate: number }).learningRate = learningRate;
  }

  /** updates applied so far */
  get step(): number {
    return this.optimizer.iterations;
  }

  /** TF.js's serialisable config of the optimiser (className Adam) */
  get config(): { className: string; config: tf.serialization.ConfigDict } {
    return { className: tf.AdamOptimizer.className, config: this.optimizer.getConfig() };
  }

  /**
   * One update; grads are in the order of the variables (the order the moments are kept in),
   * first scaled to a global norm of at most `clipNorm` (0: not clipped), as clipByGlobalNorm does.
   */
  apply(grads: readonly tf.Tensor[], clipNorm = 0): void {
    if (grads.length !== this.vars.length) throw new ModelError('INVALID_CONFIG', 'Adam: one gradient per variable expected');
    const native = nativeOptimizer();
    if (native != null) {
      const scale =
        clipNorm > 0
          ? clipScale(
              grads.map((g) => native.sumSquares(g)),
              clipNorm,
            )
          : 1;
      this.optimizer.applyNative(native, this.vars, grads, scale);
      return;
    }
    const clipped = tf.tidy(() => clipByGlobalNorm([...grads], clipNorm));
    this.optimizer.applyGradients(this.vars.map((v, i) => ({ name: v.name, tensor: clipped[i] })));
    if (clipNorm > 0) tf.dispose(clipped);
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
  const scale = clipScaleTensor(tf.addN(grads.map((g) => tf.sum(tf.square(g)))) as tf.Scalar, clipNorm);
  return grads.map((g) => tf.mul(g, scale));
}

/** clipNorm / max(√Σ, clipNorm) as a scalar: 1 when under the limit */
function clipScaleTensor(sumOfSquares: tf.Scalar, clipNorm: number): tf.Scalar {
  return tf.div(clipNorm, tf.maximum(tf.sqrt(sumOfSquares), clipNorm));
}

/** clipByGlobalNorm's factor from the gradients' sums of squares, by the same float32 scalar ops */
function clipScale(sums: number[], clipNorm: number): number {
  return tf.tidy(() => clipScaleTensor(tf.addN(sums.map((s) => tf.scalar(s))) as tf.Scalar, clipNorm).dataSync()[0]);
}
