// `npx tsx bench/profile-decode.ts [--batch 16] [--runs 15]`: where a greedy 20-token decode's time
// goes on wasm+openblas at the reference shapes. Each round times, one after the other (so all see
// the same load): the whole decode (decodeBatch, step weights frozen as served), the encoding alone
// (prepare) and 20 native steps alone (runNativeStep: tensors in, read back); medians over rounds.
// whole − encode − steps is the JS between steps (argmax, events, the generator's yields).
import { parseArgs } from 'node:util';
import { nativeBackendOptions } from '../src/jobs/native-env.ts';
import { initBackend } from '../src/ml/backend.ts';
import { prepare, runNativeStep } from '../src/ml/decode/frozen.ts';
import { decodeBatch, freezeStepWeights } from '../src/ml/index.ts';
import { initialState } from '../src/ml/model/decoder.ts';
import { referenceModel, vocabulary } from './ours.ts';
import { DECODE_TOKENS, features, START } from './shapes.ts';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '16' }, runs: { type: 'string', default: '15' } } });
await initBackend('wasm', nativeBackendOptions());
const B = Number(values.batch);
const runs = Number(values.runs);
const model = referenceModel(7, true);
const vocab = vocabulary();
const frozen = freezeStepWeights(model);
const input = features(B, 100 + B);
const tokens = new Int32Array(B).fill(START);

const parts = {
  whole: () => decodeBatch(model, vocab, input, { method: 'greedy', maxLength: DECODE_TOKENS + 1 }, undefined, frozen),
  encode: () => prepare(model, input, frozen).release(),
  steps: () => {
    const p = prepare(model, input, frozen);
    let h = initialState(B, model.config.units);
    const t0 = performance.now();
    for (let t = 0; t < DECODE_TOKENS; t++) {
      const out = runNativeStep(p, tokens, h);
      h.dispose();
      h = out.h;
    }
    const ms = performance.now() - t0;
    h.dispose();
    p.release();
    return ms;
  },
};
const times: Record<keyof typeof parts, number[]> = { whole: [], encode: [], steps: [] };
for (let r = -2; r < runs; r++) {
  for (const [name, fn] of Object.entries(parts) as [keyof typeof parts, () => unknown][]) {
    const t0 = performance.now();
    const inner = await fn();
    const ms = typeof inner === 'number' ? inner : performance.now() - t0;
    if (r >= 0) times[name].push(ms);
  }
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
const [whole, encode, steps] = [median(times.whole), median(times.encode), median(times.steps)];
console.log(
  `batch ${B}, median of ${runs}: whole ${whole.toFixed(1)} ms, encode ${encode.toFixed(1)} ms, ${DECODE_TOKENS} native steps ${steps.toFixed(1)} ms (${(steps / DECODE_TOKENS).toFixed(2)} per step), rest ${(whole - encode - steps).toFixed(1)} ms`,
);
frozen.dispose();
input.dispose();
