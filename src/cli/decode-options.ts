// Decoding options shared by `caption` and `eval`.

import type { Command } from 'commander';
import type { DecodeMethod, DecodeOptions } from '../ml/index.ts';
import { CAPTION_SETTINGS, DECODE_METHOD_SETTING, describeSetting } from '../ml/settings/index.ts';
import { integer, settingOption } from './option-parsers.ts';

export interface DecodeCliOptions {
  method: DecodeMethod;
  beamWidth?: number;
  temperature?: number;
  sampleSeed?: number;
  maxLength?: number;
}

/** The caption settings of the schema (bounds, defaults, descriptions) as options. */
export function addDecodeOptions(cmd: Command): Command {
  const c = CAPTION_SETTINGS;
  return cmd
    .option(
      '--method <m>',
      describeSetting(DECODE_METHOD_SETTING),
      settingOption('method', DECODE_METHOD_SETTING),
      DECODE_METHOD_SETTING.default,
    )
    .option('--beam-width <k>', describeSetting(c.beamWidth), settingOption('beamWidth', c.beamWidth))
    .option('--temperature <t>', describeSetting(c.temperature), settingOption('temperature', c.temperature))
    .option('--sample-seed <s>', 'seed for --method sample', integer)
    .option('--max-length <n>', describeSetting(c.maxLength), settingOption('maxLength', c.maxLength));
}

export function decodeOptions(o: DecodeCliOptions): DecodeOptions {
  return {
    method: o.method,
    ...(o.beamWidth !== undefined ? { beamWidth: o.beamWidth } : {}),
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.sampleSeed !== undefined ? { seed: o.sampleSeed } : {}),
    ...(o.maxLength !== undefined ? { maxLength: o.maxLength } : {}),
  };
}
