// `glimpse model export <modelId> --out DIR` and `glimpse model import DIR`: move trained models
// between the service's artifact store (DATABASE_URL) and plain folders, the ones `caption --model`
// and `eval --model` take. An export is verified against its hash before it appears under DIR; an
// import is loaded first (a folder that is not a model is refused) and stored as one blob; a backbone model's
// backbone is read as the worker reads it (allowed hosts, server paths under the dataset roots) and stored as
// its own blob, shared by the models on it, so browsers can run the model (src/storage/model-web.ts).
// `glimpse model export <modelId> --web DIR` writes a static export instead: a folder that captions in the
// browser from any static file server (src/web/static-export.ts).
import { cp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { createPrisma, type PrismaClient } from '../../db/client.ts';
import { createInputSource, loadModel, type ModelConfig, portableConfig } from '../../ml/index.ts';
import { backboneAccess } from '../../sources/backbone-access.ts';
import { BackboneFiles, uploadBackbone } from '../../storage/backbone-blob.ts';
import { commitBlob, discardBlob, exportDir, putDir } from '../../storage/index.ts';
import { MAX_WEB_MODEL_BYTES, notServedReason, readModelWebFiles } from '../../storage/model-web.ts';
import { webExportFiles, writeWebExport } from '../../web/static-export.ts';
import { startBackend } from '../start-backend.ts';
import { CliError } from '../cli-errors.ts';

async function withDatabase<T>(what: string, fn: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  const url = loadConfig().databaseUrl;
  if (url === undefined)
    throw new CliError('NO_DATABASE', `set DATABASE_URL to the service database (as \`npm start\` or \`npm run api\` use it) to ${what}`);
  const prisma = createPrisma(url, { max: 2 });
  try {
    return await fn(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function exportModel(modelId: string, opts: { out?: string; web?: string }): Promise<void> {
  if ((opts.out === undefined) === (opts.web === undefined)) throw new CliError('INVALID_OPTION', 'give one of --out DIR and --web DIR');
  const out = resolve((opts.out ?? opts.web)!);
  if (await exists(out)) throw new CliError('INVALID_OPTION', `${out} already exists: give a new folder`);
  if (opts.web !== undefined) return exportForWeb(modelId, out);
  await withDatabase('export its models', async (prisma) => {
    const model = await prisma.model.findUnique({ where: { id: modelId } });
    if (!model) throw new CliError('MISSING_DATA', `no model ${modelId} (see \`glimpse models\`)`);
    if (model.blobId) await exportDir(prisma, model.blobId, out);
    else if (model.path && (await exists(model.path))) await cp(model.path, out, { recursive: true });
    else
      throw new CliError('MISSING_DATA', `model ${modelId} is a folder on another host (saved before the artifact store): ${model.path}`);
    console.log(`model ${modelId} (${model.name}) written to ${out}`);
  });
}

async function exportForWeb(modelId: string, out: string): Promise<void> {
  await withDatabase('export its models', async (prisma) => {
    const model = await prisma.model.findUnique({ where: { id: modelId } });
    if (!model) throw new CliError('MISSING_DATA', `no model ${modelId} (see \`glimpse models\`)`);
    const reason = notServedReason(model);
    if (reason !== null) throw new CliError('INVALID_OPTION', `model ${modelId}: ${reason}`);
    const files = await readModelWebFiles(prisma, { blobId: model.blobId!, backboneBlobId: model.backboneBlobId }, MAX_WEB_MODEL_BYTES);
    if (!files) {
      throw new CliError(
        'INVALID_OPTION',
        `model ${modelId} cannot caption in the browser (saved before model.json, or its stored backbone is no TF.js model)`,
      );
    }
    await writeWebExport(out, await webExportFiles(files, model.name));
    console.log(
      `model ${modelId} (${model.name}) written to ${out} for the browser: serve the folder with any static file server, open index.html`,
    );
  });
}

/**
 * A backbone model's backbone read as the worker reads it (src/sources/backbone-access.ts: allowed hosts, server
 * paths under GLIMPSE_DATASET_ROOTS) and run once, its files kept to store with the model; for a CNN model
 * nothing; a reason when it cannot be read.
 */
async function readBackbone(config: ModelConfig): Promise<{ files: BackboneFiles } | { why: string } | { cnn: true }> {
  if (config.encoder.kind !== 'pretrained') return { cnn: true };
  const read = new BackboneFiles();
  try {
    const source = await createInputSource(config, {
      featureCache: false,
      backboneAccess: { ...backboneAccess(loadConfig()), onFile: read.onFile },
    });
    source.dispose();
  } catch (error) {
    return { why: error instanceof Error ? error.message : String(error) };
  }
  return { files: read };
}

async function importModel(dir: string, opts: { name?: string }, cmd: Command): Promise<void> {
  const folder = resolve(dir);
  if (!(await exists(folder))) throw new CliError('MISSING_DATA', `${folder} does not exist`);
  await startBackend(cmd.optsWithGlobals<{ backend?: string }>().backend);
  // a folder the service could not serve is refused before anything is stored
  const loaded = await loadModel(folder).catch((e: unknown) => {
    throw new CliError('INVALID_OPTION', `${folder} is not a Glimpse model folder: ${e instanceof Error ? e.message : String(e)}`);
  });
  loaded.model.dispose();
  const backbone = await readBackbone(loaded.config);
  if ('why' in backbone)
    process.stderr.write(
      `its pretrained backbone was not stored (${backbone.why}): the model will not caption in browsers (Model.webFiles null)\n`,
    );
  await withDatabase('import models', async (prisma) => {
    const pending = await putDir(prisma, folder);
    const pendingBackbone = 'files' in backbone ? await uploadBackbone(prisma, backbone.files, tmpdir()) : null;
    try {
      const model = await prisma.$transaction(async (tx) => {
        const blobId = await commitBlob(tx, pending);
        return tx.model.create({
          data: {
            name: opts.name ?? basename(folder),
            blobId,
            backboneBlobId: pendingBackbone ? await commitBlob(tx, pendingBackbone) : null,
            vocabSize: loaded.vocab.size,
            config: JSON.parse(JSON.stringify(portableConfig(loaded.config))),
            metrics: JSON.parse(JSON.stringify(loaded.metrics)),
          },
        });
      });
      console.log(`imported ${folder} as model ${model.id} (${model.name}:${model.version}); request captions with modelId ${model.id}`);
    } catch (error) {
      await discardBlob(prisma, pending);
      if (pendingBackbone) await discardBlob(prisma, pendingBackbone);
      throw error;
    }
  });
}

export function modelCommand(): Command {
  const model = new Command('model').description('move models between the service (DATABASE_URL) and folders');
  model
    .command('export')
    .description(
      'write a service model to a new folder (for `caption --model DIR`, `eval --model DIR`), or a static web page that captions in the browser',
    )
    .argument('<modelId>', 'the model id (see `glimpse models`)')
    .option('--out <dir>', 'the model folder: a folder that does not exist yet')
    .option('--web <dir>', 'a static export instead (index.html, the code, the model): a folder that does not exist yet')
    .action(exportModel);
  model
    .command('import')
    .description('store a model folder (from `train --out DIR` or an export) in the service; prints its id')
    .argument('<dir>', 'the model folder')
    .option('--name <name>', 'the model name (default: the folder name)')
    .action(importModel);
  return model;
}
