// `glimpse caption <image>`: prints the caption of one image and optionally writes the per-word
// attention figure.

import { Command } from 'commander';
import { resolve } from 'node:path';
import { loadCaptioner, writeAttentionFigure } from '../../ml/index.ts';
import { startBackend } from '../start-backend.ts';
import { addDecodeOptions, decodeOptions, type DecodeCliOptions } from '../decode-options.ts';
import { modelDirectory } from '../run-folder.ts';

interface CaptionCliOptions extends DecodeCliOptions {
  model: string;
  attentionOut?: string;
}

async function caption(image: string, opts: CaptionCliOptions, cmd: Command): Promise<void> {
  await startBackend(cmd.optsWithGlobals<{ backend?: string }>().backend);
  const captioner = await loadCaptioner(await modelDirectory(opts.model));
  try {
    const file = resolve(image);
    const result = await captioner.caption(file, decodeOptions(opts));
    console.log(result.caption);
    process.stderr.write(`${result.tokens.length} words, log-probability ${result.logProb.toFixed(3)} (${opts.method})\n`);
    if (opts.attentionOut) {
      if (result.tokens.length === 0) {
        process.stderr.write('empty caption: no attention figure written\n');
      } else {
        const out = resolve(opts.attentionOut);
        await writeAttentionFigure(out, {
          image: file,
          tokens: result.tokens.map((t) => t.token),
          attention: result.tokens.map((t) => t.attention),
          gridSize: captioner.gridSize,
        });
        process.stderr.write(`attention figure: ${out}\n`);
      }
    }
  } finally {
    captioner.dispose();
  }
}

export function captionCommand(): Command {
  return addDecodeOptions(
    new Command('caption')
      .description('caption an image (JPEG, PNG, WebP) with a trained model')
      .argument('<image>', 'image file')
      .requiredOption('--model <dir>', 'run folder (train --out) or model directory')
      .option('--attention-out <file.png>', 'write a PNG with one attention heatmap per word'),
  ).action(caption);
}
