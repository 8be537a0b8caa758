// Decoding options: defaults, validation, and the resolved settings every method runs with.
import { ModelError } from '../model/errors.ts';
import type { DecodeMethod, DecodeOptions, TokenEvent } from '../types.ts';
import type { Vocabulary } from '../vocab.ts';
import type { FrozenStepWeights } from './frozen.ts';

export type OnToken = (imageIndex: number, event: TokenEvent) => void;

export interface Resolved {
  method: DecodeMethod;
  beamWidth: number;
  /** decoding steps: words plus <end> */
  steps: number;
  temperature: number;
  seed: number;
  frozen?: FrozenStepWeights;
}

export function resolve(opts: DecodeOptions, vocab: Vocabulary, frozen?: FrozenStepWeights): Resolved {
  const method = opts.method ?? 'greedy';
  const beamWidth = opts.beamWidth ?? 3;
  const temperature = opts.temperature ?? 1;
  const maxLength = Math.min(opts.maxLength ?? vocab.maxLength, 200);
  if (!['greedy', 'beam', 'sample'].includes(method)) throw new ModelError('INVALID_CONFIG', `unknown decode method ${method}`);
  if (!(Number.isInteger(beamWidth) && beamWidth >= 1)) throw new ModelError('INVALID_CONFIG', 'beamWidth must be an integer ≥ 1');
  if (!(temperature > 0)) throw new ModelError('INVALID_CONFIG', 'temperature must be > 0');
  if (!(Number.isInteger(maxLength) && maxLength >= 3)) throw new ModelError('INVALID_CONFIG', 'maxLength must be an integer ≥ 3');
  return { method, beamWidth, steps: maxLength - 1, temperature, seed: opts.seed ?? 0, ...(frozen ? { frozen } : {}) };
}

