// THE caption (decoding) settings: names, bounds, defaults and descriptions for the API's
// RequestCaptionInput, `glimpse caption` / `glimpse eval` options and src/ml's decoders.
// No imports beyond ./spec.ts: the API and the browser may load this file.
import type { EnumSetting, SettingTable } from './spec.ts';

export const DECODE_METHODS = ['greedy', 'beam', 'sample'] as const;
export type DecodeMethodName = (typeof DECODE_METHODS)[number];

export interface CaptionSettings {
  method: DecodeMethodName;
  /** beam only */
  beamWidth: number;
  /** null: the model's own maximum */
  maxLength: number | null;
  /** sample only */
  temperature: number;
}

// The default is beam search (width 3): on the demo set's first-hour model it names 93.5–97 % of held-out
// images' objects exactly right where greedy names 78–86 % (bench/first-hour.ts --decode beam,greedy,
// three seeds, docs/benchmarks.md "Issue 24"), and with the native decoding step a beam-3 caption costs
// 1.2–2.4× a greedy one (npm run bench: beam 3 20 b1 vs greedy 20 b1).
export const DECODE_METHOD_SETTING: EnumSetting<DecodeMethodName> = {
  kind: 'enum',
  values: DECODE_METHODS,
  default: 'beam',
  description: 'greedy (most likely word each step), beam (beam search) or sample (random by probability)',
};

export const CAPTION_SETTINGS: SettingTable<CaptionSettings> = {
  method: DECODE_METHOD_SETTING,
  beamWidth: { kind: 'int', min: 1, max: 20, default: 3, description: 'beam only: hypotheses kept per step' },
  maxLength: { kind: 'int', min: 2, max: 100, default: null, auto: "the model's", description: 'most tokens per caption' },
  temperature: {
    kind: 'float',
    min: 0,
    minExclusive: true,
    max: 10,
    default: 1,
    description: 'sample only: softmax temperature (lower: closer to greedy)',
  },
};
