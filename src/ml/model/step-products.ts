// Products x_t·W (+ b) that a recurrence repeats at every time step with the same W, whose
// gradients with respect to W and b are computed once over all steps, Xᵀ·dY and Σ dY over the
// stacked rows, instead of one [K, M] product per step (K = rows of the batch, 16: far from what a
// GEMM does well) plus an Add of weight-sized tensors per step to accumulate them. The weight
// gradient of teacher forcing's state projection ([U, 4U]) and GRU context kernel ([E, 3U]) was
// 11 products and 10 Adds of 1 M and 0.4 M elements per step of training.
//
// How: each product is a custom gradient that returns only the gradient of x (dY·Wᵀ) and records
// (x, dY); W and b reach the tape through `anchor`, an identity on the recurrence's first input
// recorded before any product. The tape runs gradients in reverse recording order, so the
// anchor's runs after every product's and turns the records into the weights' gradients. With no
// tape recording (decoding) both are the plain ops.
import * as tf from '@tensorflow/tfjs';

interface Weight {
  w: tf.Tensor2D;
  bias?: tf.Tensor1D;
  /** (x, dY) of every product whose gradient has run */
  records: { x: tf.Tensor; dy: tf.Tensor }[];
  /** products recorded on the tape */
  issued: number;
}

let enabled = true;

/** Turns the once-over-all-steps weight gradients on or off (benches and tests compare both in one process). */
export function setStepProducts(on: boolean): void {
  enabled = on;
}

function recording(): boolean {
  return enabled && (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

export class StepProducts {
  private readonly weights: Weight[];
  private anchored = false;

  constructor(weights: { w: tf.Tensor2D; bias?: tf.Tensor1D }[]) {
    this.weights = weights.map((w) => ({ ...w, records: [], issued: 0 }));
  }

  /**
   * Identity on the recurrence's first input, carrying the weights' gradients: call once, before
   * the first product, and feed its result to the recurrence.
   */
  anchor<T extends tf.Tensor>(start: T): T {
    if (this.anchored) throw new Error('StepProducts.anchor: called twice');
    if (!recording()) return start;
    this.anchored = true;
    const inputs: tf.Tensor[] = [start];
    for (const { w, bias } of this.weights) inputs.push(w, ...(bias ? [bias] : []));
    const weights = this.weights;
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: (args[0] as tf.Tensor).clone(),
      gradFunc: (dy: tf.Tensor) => {
        const grads: tf.Tensor[] = [dy.clone()];
        for (const { w, bias, records, issued } of weights) {
          // a product whose input the tape does not reach from the weights (it does not depend on
          // the anchor's output) never runs its gradient: its share of dW would be lost silently
          if (records.length !== issued) {
            throw new Error(
              `StepProducts: ${issued - records.length} of ${issued} products got no gradient (inputs must depend on the anchor's output)`,
            );
          }
          if (records.length === 0) {
            grads.push(tf.zerosLike(w), ...(bias ? [tf.zerosLike(bias)] : []));
            continue;
          }
          const x = records.length === 1 ? records[0].x : tf.concat(records.map((r) => r.x)); // [N, K]
          const dys = records.length === 1 ? records[0].dy : tf.concat(records.map((r) => r.dy)); // [N, M]
          grads.push(tf.matMul(x, dys, true, false), ...(bias ? [tf.sum(dys, 0)] : []));
          records.length = 0;
        }
        return grads;
      },
    }));
    return op(...inputs) as T;
  }

  /** x·W_i (+ b_i) for the i-th weight given to the constructor */
  product(i: number, x: tf.Tensor2D): tf.Tensor2D {
    const weight = this.weights[i];
    const plain = () => tf.fused.matMul({ a: x, b: weight.w, bias: weight.bias }) as tf.Tensor2D;
    if (!this.anchored || !recording()) return plain();
    weight.issued++;
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [a, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
      save([a, weight.w]);
      return {
        value: tf.fused.matMul({ a, b: weight.w, bias: weight.bias }),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          // saved tensors stay alive until the whole backward pass ends; dy is shared, not copied
          weight.records.push({ x: saved[0], dy: dy.clone() });
          return [tf.matMul(dy, saved[1], false, true)]; // dY·Wᵀ
        },
      };
    });
    return op(x) as tf.Tensor2D;
  }
}
