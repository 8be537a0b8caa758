// Decoding options shared by `caption` and `eval`.

import type { Command } from 'commander';
import type { DecodeMethod, DecodeOptions } from '../ml/index.ts';
import { integer, oneOf, positiveInt, positiveNumber } from './options.ts';

export interface DecodeCliOptions {
  method: DecodeMethod;
  beamWidth?: number;
  temperature?: number;
  sampleSeed?: number;
  maxLength?: number;
}

export function addDecodeOptions(cmd: Command): Command {
  return cmd
    .option('--method <m>', 'greedy, beam or sample', oneOf<DecodeMethod>(['greedy', 'beam', 'sample']), 'greedy')
    .option('--beam-width <k>', 'beam width for --method beam (default 3)', positiveInt)
    .option('--temperature <t>', 'softmax temperature for --method sample (default 1)', positiveNumber)
    .option('--sample-seed <s>', 'seed for --method sample', integer)
    .option('--max-length <n>', "most words per caption (default: the model's max length)", positiveInt);
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
