// The TensorFlow.js backends by name, fastest first: the order src/ml/backend.ts tries them in, and the
// values GLIMPSE_BACKEND and --backend accept. Pure data with no imports, so the config package (loaded by
// the API, which never loads TensorFlow.js) can validate the name without loading the ML stack.

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
