// Training checkpoints, written atomically to one directory each: the model files (model.json with
// the TF.js weights manifest, weights.bin, vocab.json: a checkpoint loads as a model), the Adam
// state as TF.js weights (optimizer.json + optimizer.bin: `iter`, `<weight>/m`, `<weight>/v`) and
// state.json (train config and the position in the data order: epoch, batches done, global step).
// Checkpoints of the earlier format (`glimpse-checkpoint/1`) still load and resume.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './model/model-error.ts';
import { readModelConfig, readModelFiles, writeModelFiles } from './model/modelJson.ts';
import { legacyWeights, readJsonIfPresent, readWeights, writeWeights, type NamedTensor, type WithWeights } from './model/weightsFile.ts';
import type { ModelConfig, TrainConfig } from './types.ts';
import type { VocabularyJSON } from './vocab.ts';

export interface TrainPosition {
  /** global step (batches trained so far, across resumes) */
  step: number;
  /** 0-based epoch in progress */
  epoch: number;
  /** batches of that epoch already trained */
  batch: number;
  /** sum of this epoch's batch losses so far (for its mean on resume) */
  epochLossSum: number;
}

const FORMAT = 'glimpse-checkpoint/2';
/** the format before TF.js weights: optimizer moments `m/<weight>`, `v/<weight>`; the count here */
const LEGACY_FORMAT = 'glimpse-checkpoint/1';

export interface CheckpointMeta {
  format: typeof FORMAT;
  position: TrainPosition;
  trainConfig: TrainConfig;
  /** raw feature depth C */
  channels: number;
  /** identifies the training split (hash of its image ids) */
  dataKey: string;
  /** the epoch with the lowest validation loss so far (src/ml/best.ts) */
  best?: { epoch: number; valLoss: number; checkpoint: string };
}

type StoredMeta = Omit<CheckpointMeta, 'format'> & { format: string; optimizerIterations?: number };

/** optimizer.json: the optimiser's TF.js class and config, and its state as weights */
interface OptimizerJson extends WithWeights {
  format: 'glimpse-optimizer-state';
  optimizer: { className: string; config: object };
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  config: ModelConfig;
  vocab: VocabularyJSON;
  weights: Map<string, tf.Tensor>;
  /** Adam state by name: `iter`, `<weight>/m`, `<weight>/v` */
  optimizer: Map<string, tf.Tensor>;
}

export async function writeCheckpoint(
  dir: string,
  parts: {
    meta: Omit<CheckpointMeta, 'format'>;
    config: ModelConfig;
    vocab: VocabularyJSON;
    weights: [string, tf.Tensor][];
    optimizer: { className: string; config: object; state: NamedTensor[] };
  },
): Promise<void> {
  const temp = `${dir}.tmp`;
  await rm(temp, { recursive: true, force: true });
  try {
    await mkdir(temp, { recursive: true });
    await writeModelFiles(temp, { config: parts.config, vocab: parts.vocab, weights: parts.weights });
    const { state, ...optimizer } = parts.optimizer;
    const optimizerJson: Omit<OptimizerJson, 'weightsManifest'> = { format: 'glimpse-optimizer-state', optimizer };
    await writeWeights(temp, { json: 'optimizer.json', shard: 'optimizer.bin' }, optimizerJson, state);
    const meta: CheckpointMeta = { format: FORMAT, ...parts.meta };
    await writeFile(path.join(temp, 'state.json'), JSON.stringify(meta, null, 2));
  } catch (error) {
    // a failed write (a full disk: ENOSPC) leaves no partial folder behind; the previous checkpoint stays
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(temp, dir);
}

/** The model config of a checkpoint, without loading its tensors. */
export function readCheckpointConfig(dir: string): Promise<ModelConfig> {
  return readModelConfig(dir);
}

async function readMeta(dir: string): Promise<StoredMeta> {
  const meta = await readJsonIfPresent<StoredMeta>(dir, 'state.json').catch(() => undefined);
  if (meta === undefined) throw new ModelError('INCOMPATIBLE_CHECKPOINT', `${dir} is not a readable checkpoint (state.json)`);
  if (meta.format !== FORMAT && meta.format !== LEGACY_FORMAT) {
    throw new ModelError('INCOMPATIBLE_CHECKPOINT', `${dir}: unknown checkpoint format ${String(meta.format)}`);
  }
  // checkpoints written before the settings schema called the top-k `topK`
  const legacy = meta.trainConfig as TrainConfig & { topK?: number };
  if (legacy && legacy.vocabSize === undefined && legacy.topK !== undefined) {
    legacy.vocabSize = legacy.topK;
    delete legacy.topK;
  }
  return meta;
}

/** The Adam state of a `glimpse-checkpoint/1` folder, under today's names. */
async function readLegacyOptimizer(dir: string, iterations: number): Promise<Map<string, tf.Tensor>> {
  const manifest = await legacyWeights(dir, 'optimizer');
  if (!manifest) throw new ModelError('INCOMPATIBLE_CHECKPOINT', `${dir}: no optimizer.json`);
  const moments = await readWeights(dir, manifest, path.join(dir, 'optimizer.json'));
  const state = new Map<string, tf.Tensor>([['iter', tf.scalar(iterations, 'int32')]]);
  for (const [name, tensor] of moments) state.set(`${name.slice(2)}/${name[0]}`, tensor); // m/<weight> → <weight>/m
  return state;
}

export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { optimizerIterations, ...meta } = await readMeta(dir);
  const { config, vocab, weights } = await readModelFiles(dir);
  try {
    let optimizer: Map<string, tf.Tensor>;
    if (meta.format === LEGACY_FORMAT) {
      optimizer = await readLegacyOptimizer(dir, optimizerIterations ?? 0);
    } else {
      const optimizerJson = await readJsonIfPresent<OptimizerJson>(dir, 'optimizer.json');
      if (optimizerJson?.optimizer?.className !== 'Adam') {
        throw new ModelError('INCOMPATIBLE_CHECKPOINT', `${dir}: optimizer.json missing or not an Adam state`);
      }
      optimizer = await readWeights(dir, optimizerJson, path.join(dir, 'optimizer.json'));
    }
    return { meta: { ...meta, format: FORMAT }, config, vocab, weights, optimizer };
  } catch (err) {
    tf.dispose([...weights.values()]);
    throw err;
  }
}
