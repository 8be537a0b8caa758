// tfjs-backend-wasm runs BatchMatMul/_FusedMatMul through XNNPACK (~25–45 GFLOP/s) only when
// neither input is transposed and both batch dims are 1; otherwise a scalar loop (0.5–3 GFLOP/s).
// Backprop always asks for transposed products (dA = dY·Bᵀ, dB = Aᵀ·dY) and a [B, M, K]·[K, N]
// product has batch B, so training falls to the slow loop. These wrappers make every product
// an untransposed one the stock kernel runs on its fast path:
// - transpose inputs explicitly (a blocked copy; free for vectors), or, when it moves fewer
//   elements (transposes plus XNNPACK's packing of the right-hand operand), compute
//   Cᵀ = op(B)ᵀ·op(A)ᵀ and transpose the (small) result — e.g. dY[16, 2048]·W[512, 2048]ᵀ
//   becomes (W·dYᵀ)ᵀ, moving ~70 K elements instead of transposing and packing the 1 M-element W;
// - fold the batch of A into rows when B is shared ([B, M, K]·[1, K, N] → [1, B·M, K]·[K, N]).
// Same maths: every output element is the same dot product.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { required } from './inputs.ts';
import { kernelBefore } from './registry.ts';
import { transposeCost, transposeInto } from './transpose.ts';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** A tensor viewed as [batch, rows, cols]. */
interface Mat {
  t: tf.TensorInfo;
  batch: number;
  rows: number;
  cols: number;
}

/** Views t as [batch, rows, cols] (the stock kernels broadcast rank-3 batch dims only). */
function asMat(t: tf.TensorInfo): Mat {
  const r = t.shape.length;
  const batch = tf.util.sizeFromShape(t.shape.slice(0, -2));
  const rows = t.shape[r - 2];
  const cols = t.shape[r - 1];
  return { t: { dataId: t.dataId, shape: [batch, rows, cols], dtype: t.dtype }, batch, rows, cols };
}

function view(m: Mat, batch: number, rows: number, cols: number): Mat {
  return { t: { dataId: m.t.dataId, shape: [batch, rows, cols], dtype: m.t.dtype }, batch, rows, cols };
}

class Workspace {
  private readonly temps: tf.TensorInfo[] = [];
  constructor(readonly backend: BackendWasm) {}

  /**
   * [batch, rows, cols] → [batch, cols, rows]. A vector is reshaped, not copied — except as a
   * right-hand operand: the stock kernel caches XNNPACK operators (packed weights) by tensor id,
   * so the same id must never reach it as B with another [K, N].
   */
  transpose(m: Mat, use: 'left' | 'right' | 'output'): Mat {
    if (transposeCost(m.rows, m.cols) === 0 && use !== 'right') return view(m, m.batch, m.cols, m.rows);
    const out = this.backend.makeOutput([m.batch, m.cols, m.rows], 'float32');
    if (use !== 'output') this.temps.push(out);
    // views after makeOutput: allocation may grow (and detach) the wasm heap
    const src = this.backend.typedArrayFromHeap(m.t) as Float32Array;
    transposeInto(src, this.backend.typedArrayFromHeap(out) as Float32Array, m.batch, m.rows, m.cols);
    return asMat(out);
  }

  keep(t: tf.TensorInfo): tf.TensorInfo {
    this.temps.push(t);
    return t;
  }

  /** Stops tracking a kept tensor (it becomes the kernel's output). */
  release(t: tf.TensorInfo): tf.TensorInfo {
    this.temps.splice(this.temps.indexOf(t), 1);
    return t;
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
  }
}

function fastMatMul(kernelName: string): tf.KernelConfig {
  const stock = kernelBefore(kernelName, 'wasm');
  const run = (backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined, a: Mat, b: Mat) =>
    stock.kernelFunc({
      inputs: { ...inputs, a: a.t, b: b.t },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    }) as tf.TensorInfo;

  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
    const aInfo = required(inputs, 'a');
    const bInfo = required(inputs, 'b');
    const a = asMat(aInfo);
    const b = asMat(bInfo);
    const m = transposeA ? a.cols : a.rows;
    const n = transposeB ? b.rows : b.cols;
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(aInfo.shape.slice(0, -2), bInfo.shape.slice(0, -2));
    const outShape = [...outer, m, n];
    // a bias runs along C's columns, so C may not be computed transposed; PReLU weights may
    // broadcast over the batch, so A's batch may not be folded into rows under them
    const foldable = inputs.preluActivationWeights == null;
    const swappable = foldable && inputs.bias == null;
    const ws = new Workspace(wasm);
    try {
      // elements moved: transposed copies, plus XNNPACK packing the right-hand operand (cached
      // per tensor, but gradients are fresh tensors every step)
      const sizeA = a.rows * a.cols;
      const sizeB = b.rows * b.cols;
      const direct = (transposeA ? transposeCost(a.rows, a.cols) : 0) + (transposeB ? transposeCost(b.rows, b.cols) : 0) + sizeB;
      const swapped =
        (transposeA ? 0 : transposeCost(a.rows, a.cols)) + (transposeB ? 0 : transposeCost(b.rows, b.cols)) + transposeCost(m, n) + sizeA;
      if (swappable && a.batch === 1 && b.batch === 1 && swapped < direct) {
        const left = transposeB ? b : ws.transpose(b, 'left'); // [1, N, K]
        const right = transposeA ? a : ws.transpose(a, 'right'); // [1, K, M]
        const ct = asMat(ws.keep(run(wasm, inputs, attrs, left, right))); // [1, N, M]
        const c = ws.transpose(ct, 'output'); // [1, M, N]
        // a vector result is a reshaped view of ct: keep ct alive instead
        return { ...(c.t.dataId === ct.t.dataId ? ws.release(ct.t) : c.t), shape: outShape };
      }
      const left = transposeA ? ws.transpose(a, 'left') : a; // [batchA, M, K]
      const right = transposeB ? ws.transpose(b, 'right') : b; // [batchB, K, N]
      const fold = foldable && right.batch === 1 && left.batch > 1;
      const out = run(wasm, inputs, attrs, fold ? view(left, 1, left.batch * m, left.cols) : left, right);
      return { ...out, shape: outShape };
    } finally {
      ws.dispose();
    }
  };
  return { kernelName, backendName: 'wasm', setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc, kernelFunc };
}

/** Kernel configs replacing wasm's BatchMatMul and _FusedMatMul (call after the wasm package is imported). */
export function wasmMatMulKernels(): tf.KernelConfig[] {
  return [fastMatMul(tf.BatchMatMul), fastMatMul(tf._FusedMatMul)];
}
