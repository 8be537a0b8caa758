// Decoding options: defaults, validation, and the resolved settings every method runs with.
import { ModelError } from '../model/model-error.ts';
import { CAPTION_SETTINGS, resolveSettings, SettingError, type CaptionSettings } from '../settings/index.ts';
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
  const given = { method: opts.method, beamWidth: opts.beamWidth, temperature: opts.temperature, maxLength: opts.maxLength };
  let settings: CaptionSettings;
  try {
    settings = resolveSettings(CAPTION_SETTINGS, given);
  } catch (error) {
    if (error instanceof SettingError) throw new ModelError('INVALID_CONFIG', `decode: ${error.message}`);
    throw error;
  }
  // a model longer than the API's cap (a CLI model) still decodes to its own length
  const maxLength = settings.maxLength ?? vocab.maxLength;
  return {
    method: settings.method,
    beamWidth: settings.beamWidth,
    steps: maxLength - 1,
    temperature: settings.temperature,
    seed: opts.seed ?? 0,
    ...(frozen ? { frozen } : {}),
  };
}
