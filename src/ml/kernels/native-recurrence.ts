// The teacher-forced decoder recurrence (src/ml/model/decoder.ts, teacherForcedStates) as one native
// kernel over all time steps (native/recurrence.c) on the wasm heap, with its gradient as a second
// one: per step the state projection, the attention (scores, softmax, context), the context share
// of the GRU input and the GRU cell, where the tfjs ops (with the fused attention weights and GRU
// cell) ran ~25 kernels per step forward and ~35 backward, plus the weight gradients summed once.
//
// The kernel's one differentiable output packs each row (b, t) as (h_{t+1} | α | context) [B, T,
// U + L + E] (a custom gradient has one output); while a gradient tape records, the forward also
// stores what the backward reads besides its inputs (the attention queries, the GRU gates: the
// attention's tanh values are recomputed from the keys and queries). Used where the
// backend is wasm with the native kernels (and their 'recurrence', 'gru' and 'attention-softmax'
// parts) on; else null and the caller runs the step by step ops.
import * as tf from '@tensorflow/tfjs';
import { required } from './inputs.ts';
import { activeNativePart, type NativeKernel, nativeKernel } from './native-kernel.ts';

export const RECURRENCE = 'GlimpseRecurrence';
export const RECURRENCE_GRAD = 'GlimpseRecurrenceGrad';

function float32(x: tf.TensorInfo, shape: number[], what: string): void {
  if (x.dtype !== 'float32' || x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${RECURRENCE}: ${what} must be float32 of shape [${shape}], got ${x.dtype} [${x.shape}]`);
  }
}

/** B, T, L, U, E from keys [B, L, U], features [B, L, E] and xEmb [B, T, 3U] */
function sizes(inputs: tf.NamedTensorInfoMap): { B: number; T: number; L: number; U: number; E: number } {
  const features = required(inputs, 'features');
  const wContext = required(inputs, 'wContext');
  const out = inputs.out ?? required(inputs, 'xEmb');
  const [B, L, E] = features.shape;
  const U = wContext.shape[1] / 3;
  return { B, T: out.shape[1], L, U, E };
}

/** the per-step saved values (q, the GRU gates, r_n): T·B·5U */
const savedSize = (B: number, T: number, U: number) => T * B * 5 * U;

const forwardKernel = nativeKernel({
  kernelName: RECURRENCE,
  entry: 'recurrence',
  fallback: 'none',
  list: true,
  plan({ inputs, attrs }) {
    const { B, T, L, U, E } = sizes(inputs);
    const keys = required(inputs, 'keys');
    const features = required(inputs, 'features');
    const xEmb = required(inputs, 'xEmb');
    const wQuery = required(inputs, 'wQuery');
    const bQuery = required(inputs, 'bQuery');
    const wRec = required(inputs, 'wRec');
    const bRec = required(inputs, 'bRec');
    const wContext = required(inputs, 'wContext');
    const v = required(inputs, 'v');
    const keep = inputs.keep;
    float32(keys, [B, L, U], 'keys');
    float32(features, [B, L, E], 'features');
    float32(xEmb, [B, T, 3 * U], 'xEmb');
    float32(wQuery, [U, U], 'wQuery');
    float32(bQuery, [U], 'bQuery');
    float32(wRec, [U, 3 * U], 'wRec');
    float32(bRec, [3 * U], 'bRec');
    float32(wContext, [E, 3 * U], 'wContext');
    float32(v, [U, 1], 'v');
    if (keep != null) float32(keep, [T, B], 'keep');
    const store = (attrs as { store?: boolean }).store === true;
    return {
      // out [B, T, U + L + E], and the saved values while recording
      outputs: store ? [[B, T, U + L + E], [savedSize(B, T, U)]] : [[B, T, U + L + E]],
      params: (offset, [out, saved]) => ({
        keysOff: offset(keys),
        featuresOff: offset(features),
        xEmbOff: offset(xEmb),
        wQueryOff: offset(wQuery),
        bQueryOff: offset(bQuery),
        wRecOff: offset(wRec),
        bRecOff: offset(bRec),
        wContextOff: offset(wContext),
        vOff: offset(v),
        keepOff: keep != null ? offset(keep) : -1,
        outOff: out,
        savedOff: store ? saved : -1,
        B,
        T,
        L,
        U,
        E,
      }),
    };
  },
});

const gradKernel = nativeKernel({
  kernelName: RECURRENCE_GRAD,
  entry: 'recurrenceGrad',
  fallback: 'none',
  list: true,
  plan({ inputs }) {
    const { B, T, L, U, E } = sizes(inputs);
    const keys = required(inputs, 'keys');
    const features = required(inputs, 'features');
    const wQuery = required(inputs, 'wQuery');
    const wRec = required(inputs, 'wRec');
    const wContext = required(inputs, 'wContext');
    const v = required(inputs, 'v');
    const keep = inputs.keep;
    const out = required(inputs, 'out');
    const saved = required(inputs, 'saved');
    const dy = required(inputs, 'dy');
    float32(keys, [B, L, U], 'keys');
    float32(features, [B, L, E], 'features');
    float32(wQuery, [U, U], 'wQuery');
    float32(wRec, [U, 3 * U], 'wRec');
    float32(wContext, [E, 3 * U], 'wContext');
    float32(v, [U, 1], 'v');
    if (keep != null) float32(keep, [T, B], 'keep');
    float32(out, [B, T, U + L + E], 'out');
    float32(saved, [savedSize(B, T, U)], 'saved');
    float32(dy, [B, T, U + L + E], 'dy');
    return {
      outputs: [
        [B, L, U], // dkeys
        [B, L, E], // dfeatures
        [B, T, 3 * U], // dxEmb
        [U, U], // dwQuery
        [U], // dbQuery
        [U, 3 * U], // dwRec
        [3 * U], // dbRec
        [E, 3 * U], // dwContext
        [U, 1], // dv
      ],
      params: (offset, [dkeys, dfeatures, dxEmb, dwQuery, dbQuery, dwRec, dbRec, dwContext, dv]) => ({
        keysOff: offset(keys),
        featuresOff: offset(features),
        wQueryOff: offset(wQuery),
        wRecOff: offset(wRec),
        wContextOff: offset(wContext),
        vOff: offset(v),
        keepOff: keep != null ? offset(keep) : -1,
        outOff: offset(out),
        savedOff: offset(saved),
        dyOff: offset(dy),
        dkeysOff: dkeys,
        dfeaturesOff: dfeatures,
        dxEmbOff: dxEmb,
        dwQueryOff: dwQuery,
        dbQueryOff: dbQuery,
        dwRecOff: dwRec,
        dbRecOff: dbRec,
        dwContextOff: dwContext,
        dvOff: dv,
        B,
        T,
        L,
        U,
        E,
      }),
    };
  },
});

/** The recurrence and its gradient: kernels of their own (no fallback: callers check first). */
export const NATIVE_RECURRENCE_KERNELS: NativeKernel[] = [forwardKernel, gradKernel];

/** What the recurrence reads: the encoded images, the tokens' input projection and the step's weights. */
export interface RecurrenceInputs {
  keys: tf.Tensor3D; // [B, L, U]
  features: tf.Tensor3D; // [B, L, E]
  xEmb: tf.Tensor3D; // [B, T, 3U]
  /** attention's W2 [U, U] and b2 [U] */
  queryKernel: tf.Tensor2D;
  queryBias: tf.Tensor1D;
  /** the GRU's recurrent kernel [U, 3U] and bias [3U] */
  recurrentKernel: tf.Tensor2D;
  recurrentBias: tf.Tensor1D;
  contextKernel: tf.Tensor2D; // [E, 3U]
  v: tf.Tensor2D; // [U, 1]
  /** [T, B]: context dropout's scale into the GRU (training only) */
  keep?: tf.Tensor2D;
}

function withGrad(withKeep: boolean) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [keys, features, xEmb, wQuery, bQuery, wRec, bRec, wContext, v, keep] = args as tf.Tensor[];
    const inputs = { keys, features, xEmb, wQuery, bQuery, wRec, bRec, wContext, v, ...(withKeep ? { keep } : {}) };
    const [out, saved] = tf.engine().runKernel(RECURRENCE, inputs, { store: true }) as tf.Tensor[];
    save([keys, features, wQuery, wRec, wContext, v, out, saved, ...(withKeep ? [keep] : [])]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => {
        const [ks, f, wq, wr, wc, vv, o, sv, k] = s;
        const grads = tf
          .engine()
          .runKernel(
            RECURRENCE_GRAD,
            { keys: ks, features: f, wQuery: wq, wRec: wr, wContext: wc, v: vv, out: o, saved: sv, dy, ...(withKeep ? { keep: k } : {}) },
            {},
          ) as tf.Tensor[];
        return withKeep ? [...grads, tf.zerosLike(k)] : grads; // keep: data, not a parameter
      },
    };
  });
}

const recurrenceWithGrad = withGrad(false);
const recurrenceWithKeepGrad = withGrad(true);

/** Whether the recurrence runs natively here (the shapes aside). */
export function nativeRecurrenceOn(): boolean {
  // it fuses the 'gru' and 'attention-softmax' parts: switching either off runs the steps one by one
  const parts = ['recurrence', 'gru', 'attention-softmax'] as const;
  return tf.getBackend() === 'wasm' && parts.every((part) => activeNativePart(part) != null);
}

/**
 * The teacher-forced recurrence from a zero state natively: [B, T, U + L + E], row (b, t) the state
 * after step t, its attention weights and its context; or null where not available (another backend,
 * the native kernels or their 'recurrence' part off, empty or other shapes).
 */
export function nativeRecurrence(x: RecurrenceInputs): tf.Tensor3D | null {
  if (!nativeRecurrenceOn()) return null;
  const [B, L, U] = x.keys.shape;
  const [, T, threeU] = x.xEmb.shape;
  const E = x.features.shape[2];
  const all = [
    x.keys,
    x.features,
    x.xEmb,
    x.queryKernel,
    x.queryBias,
    x.recurrentKernel,
    x.recurrentBias,
    x.contextKernel,
    x.v,
    ...(x.keep ? [x.keep] : []),
  ];
  const shapesFit =
    B * T * L * U * E > 0 &&
    threeU === 3 * U &&
    x.features.shape[0] === B &&
    x.features.shape[1] === L &&
    x.xEmb.shape[0] === B &&
    x.queryKernel.shape[0] === U &&
    x.queryKernel.shape[1] === U &&
    x.queryBias.shape[0] === U &&
    x.recurrentKernel.shape[0] === U &&
    x.recurrentKernel.shape[1] === 3 * U &&
    x.recurrentBias.shape[0] === 3 * U &&
    x.contextKernel.shape[0] === E &&
    x.contextKernel.shape[1] === 3 * U &&
    x.v.shape[0] === U &&
    x.v.shape[1] === 1 &&
    (x.keep == null || (x.keep.shape[0] === T && x.keep.shape[1] === B));
  if (!shapesFit || all.some((t) => t.dtype !== 'float32')) return null;
  const recording = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  if (recording) return (x.keep ? recurrenceWithKeepGrad(...all) : recurrenceWithGrad(...all)) as tf.Tensor3D;
  const inputs = {
    keys: x.keys,
    features: x.features,
    xEmb: x.xEmb,
    wQuery: x.queryKernel,
    bQuery: x.queryBias,
    wRec: x.recurrentKernel,
    bRec: x.recurrentBias,
    wContext: x.contextKernel,
    v: x.v,
    ...(x.keep ? { keep: x.keep } : {}),
  };
  const [out] = tf.engine().runKernel(RECURRENCE, inputs, { store: false }) as tf.Tensor[];
  return out as tf.Tensor3D;
}
