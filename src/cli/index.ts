// `npm run glimpse -- <command>`: datasets, training, captioning and evaluation from the shell.

import { Command } from 'commander';
import { captionCommand } from './commands/caption.ts';
import { datasetCommand } from './commands/dataset.ts';
import { evalCommand } from './commands/eval.ts';
import { keysCommand } from './commands/keys.ts';
import { modelCommand } from './commands/model.ts';
import { modelsCommand } from './commands/models.ts';
import { trainCommand } from './commands/train.ts';
import { reportError } from './cli-errors.ts';

const program = new Command('glimpse')
  .description('Show, Attend and Tell image captioning: datasets, training, captioning, evaluation')
  .option(
    '--backend <name>',
    'TensorFlow.js backend: tensorflow-gpu, tensorflow, wasm or cpu (default: GLIMPSE_BACKEND, else the best available)',
  )
  .showHelpAfterError()
  .addCommand(datasetCommand())
  .addCommand(trainCommand())
  .addCommand(captionCommand())
  .addCommand(evalCommand())
  .addCommand(modelsCommand())
  .addCommand(modelCommand())
  .addCommand(keysCommand());

program.parseAsync(process.argv).catch(reportError);
