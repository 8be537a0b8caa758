import type * as tf from '@tensorflow/tfjs';

/** A kernel input that the op always supplies (the NamedTensorInfoMap types mark all as optional). */
export function required(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t == null) throw new Error(`kernel input "${name}" is missing`);
  return t;
}
