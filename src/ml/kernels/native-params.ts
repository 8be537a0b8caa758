// The parameter layout of each entry point of the native kernels addon: every one is
// fn(heap: Uint8Array, params: Float64Array) with the numbers named here, in this order (byte
// offsets into the wasm heap end in `Off`). The mirror of the X-macro lists in native/kernels.h:
// the addon reports its own (layout()), native-addon.ts refuses an addon whose layout differs,
// and test/ml/backend/native-addon.test.ts compares this table with kernels.h itself. Callers
// name their values (packParams), so a reordering on either side cannot pass a number to the
// wrong parameter.
const UNARY = ['xOff', 'yOff', 'n'] as const;

export const NATIVE_PARAMS = {
  gemm: [
    'batch',
    'm',
    'n',
    'k',
    'transA',
    'transB',
    'aOff',
    'aBatch',
    'bOff',
    'bBatch',
    'cOff',
    'biasOff',
    'biasLen',
    'activation',
    'leakyAlpha',
  ],
  tanh: UNARY,
  exp: UNARY,
  sumAxes: ['xOff', 'outOff', 'outer', 'reduce', 'inner'],
  sumSquares: ['xOff', 'n'],
  adam: [
    'wOff',
    'gOff',
    'mOff',
    'vOff',
    'n',
    'scale',
    'beta1',
    'oneMinusBeta1',
    'beta2',
    'oneMinusBeta2',
    'oneMinusAccBeta1',
    'oneMinusAccBeta2',
    'negLr',
    'epsilon',
  ],
  attnScores: ['keysOff', 'qOff', 'vOff', 'scoresOff', 'hiddenOff', 'B', 'L', 'U'],
  attnScoresGrad: ['hiddenOff', 'vOff', 'dsOff', 'dkeysOff', 'dqOff', 'dvOff', 'B', 'L', 'U'],
  attnSoftmax: ['keysOff', 'qOff', 'vOff', 'alphaOff', 'hiddenOff', 'B', 'L', 'U'],
  attnSoftmaxGrad: ['hiddenOff', 'vOff', 'alphaOff', 'dalphaOff', 'dkeysOff', 'dqOff', 'dvOff', 'B', 'L', 'U'],
  gruCell: ['xOff', 'rOff', 'hOff', 'hNewOff', 'gatesOff', 'B', 'U'],
  gruCellGrad: ['gatesOff', 'rOff', 'hOff', 'dyOff', 'dxOff', 'drOff', 'dhOff', 'B', 'U'],
  convFilterGrad: [
    'xOff',
    'dyOff',
    'dkOff',
    'B',
    'H',
    'W',
    'Cin',
    'OH',
    'OW',
    'Cout',
    'FH',
    'FW',
    'sh',
    'sw',
    'dh',
    'dw',
    'padTop',
    'padLeft',
  ],
  maxPoolGrad: ['xOff', 'dyOff', 'dxOff', 'B', 'H', 'W', 'C', 'OH', 'OW', 'FH', 'FW', 'sh', 'sw', 'padTop', 'padLeft'],
  conv2d: [
    'xOff',
    'fOff',
    'biasOff',
    'yOff',
    'B',
    'H',
    'W',
    'Cin',
    'OH',
    'OW',
    'Cout',
    'FH',
    'FW',
    'sh',
    'sw',
    'padTop',
    'padLeft',
    'activation',
  ],
  convInputGrad: ['dyOff', 'fOff', 'dxOff', 'B', 'H', 'W', 'Cin', 'OH', 'OW', 'Cout', 'FH', 'FW', 'sh', 'sw', 'padTop', 'padLeft'],
  recurrence: [
    'keysOff',
    'featuresOff',
    'xEmbOff',
    'wQueryOff',
    'bQueryOff',
    'wRecOff',
    'bRecOff',
    'wContextOff',
    'vOff',
    'keepOff',
    'outOff',
    'savedOff',
    'B',
    'T',
    'L',
    'U',
    'E',
  ],
  recurrenceGrad: [
    'keysOff',
    'featuresOff',
    'wQueryOff',
    'wRecOff',
    'wContextOff',
    'vOff',
    'keepOff',
    'outOff',
    'savedOff',
    'dyOff',
    'dkeysOff',
    'dfeaturesOff',
    'dxEmbOff',
    'dwQueryOff',
    'dbQueryOff',
    'dwRecOff',
    'dbRecOff',
    'dwContextOff',
    'dvOff',
    'B',
    'T',
    'L',
    'U',
    'E',
  ],
  decodeStep: [
    'tokensOff',
    'embeddingOff',
    'stateKernelOff',
    'stateBiasOff',
    'keysOff',
    'featuresOff',
    'imageRowsOff',
    'stateRowsOff',
    'vOff',
    'gruKernelOff',
    'inputBiasOff',
    'fc1Off',
    'fc1BiasOff',
    'outContextOff',
    'fc2Off',
    'fc2BiasOff',
    'hOff',
    'logProbsOff',
    'alphaOff',
    'hNewOff',
    'N',
    'images',
    'states',
    'L',
    'U',
    'E',
    'D',
    'F',
    'V',
  ],
  crossEntropy: ['logitsOff', 'targetsOff', 'lossOff', 'statsOff', 'N', 'V'],
  crossEntropyGrad: ['logitsOff', 'targetsOff', 'statsOff', 'dyOff', 'dxOff', 'N', 'V'],
} as const;

/** An entry point of the addon that computes on the heap. */
export type NativeEntry = keyof typeof NATIVE_PARAMS;

/** An entry point's parameters by name. */
export type NativeParams<E extends NativeEntry> = Record<(typeof NATIVE_PARAMS)[E][number], number>;

// one buffer per entry point, reused: the addon's calls are synchronous and never nest
const buffers = new Map<NativeEntry, Float64Array>();

/** The values in the addon's order. */
export function packParams<E extends NativeEntry>(entry: E, values: NativeParams<E>): Float64Array {
  const names: readonly string[] = NATIVE_PARAMS[entry];
  let buffer = buffers.get(entry);
  if (buffer == null) {
    buffer = new Float64Array(names.length);
    buffers.set(entry, buffer);
  }
  const byName = values as Record<string, number>;
  for (let i = 0; i < names.length; i++) buffer[i] = byName[names[i]];
  return buffer;
}
