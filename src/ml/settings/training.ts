// THE training settings: every name, bound, default and description of a training run, in one place.
// The GraphQL input (StartTrainingInput, EncoderInput) with its defaults and validation, the job that
// runs it, `glimpse train`'s options and --help, and the dashboard's form (through introspection) are
// derived from these tables; src/ml's DEFAULT_* configs read their defaults from here.
// No imports beyond ./spec.ts and ./epochs.ts: the API and the browser may load this file.
import { EPOCHS_RULE, epochsFor } from './epochs.ts';
import type { IntListSetting, NumberSetting, SettingTable } from './spec.ts';

/** Hyper-parameters of a run (what the API stores as TrainingRun.config, with the encoder's below). */
export interface TrainingSettings {
  /** null: by the dataset's size (epochsFor, a step budget) */
  epochs: number | null;
  /** early stopping: stop once the validation loss has not improved for this many epochs (0: off) */
  patience: number;
  /** null: DEFAULT_BATCH_SIZE, or the largest the worker's memory budget admits (planRun) */
  batchSize: number | null;
  /** null: by the dataset's size (MODEL_SIZES) */
  learningRate: number | null;
  /** cosine decay: the learning rate falls to this fraction of itself by the last step (1: constant) */
  learningRateEnd: number;
  /** global gradient-norm clip (0 = off) */
  clipNorm: number;
  /** null: by the dataset's size (MODEL_SIZES) */
  embeddingDim: number | null;
  /** null: by the dataset's size (MODEL_SIZES) */
  units: number | null;
  /** the user's top-k: words kept in the vocabulary (the model's output adds 4 special tokens) */
  vocabSize: number;
  /** null: from the data */
  maxLength: number | null;
  attentionLambda: number;
  /** the output layer also reads the attention context (Show, Attend and Tell's deep output) */
  deepOutput: boolean;
  /** training only: share of steps whose attention context skips the GRU's input */
  contextDropout: number;
  seed: number;
  valFraction: number;
  checkpointEvery: number;
  /** also checkpoint when this many minutes have passed since the last checkpoint (0: off) */
  checkpointMinutes: number;
}

/** Numbers of the default CNN encoder or of a pretrained backbone. */
export interface EncoderSettings {
  /** null: the CNN's DEFAULT_CNN_IMAGE_SIZE, or a backbone's DEFAULT_BACKBONE_IMAGE_SIZE */
  imageSize: number | null;
  gridSize: number;
  /** CNN only; null: one stage per pooling step, widths by the dataset's size (a backbone has none) */
  channels: number[] | null;
  /** null: by the dataset's size (MODEL_SIZES) */
  encoderDim: number | null;
}

/**
 * Model sizes when not given, by the dataset's size: a small set (the demo's 4,000 images, 20,000
 * captions) trains in minutes on a laptop with the small sizes and gains nothing from more; a large
 * one (MS-COCO) gets the seed's sizes (GRU 512, embedding 256, features projected to 256).
 */
export const MODEL_SIZES = {
  small: { units: 128, embeddingDim: 64, encoderDim: 64, cnnWidth: 16, learningRate: 0.003 },
  seed: { units: 512, embeddingDim: 256, encoderDim: 256, cnnWidth: 32, learningRate: 0.001 },
} as const;
/** Datasets with at least this many captions get the seed's sizes. */
export const LARGE_DATASET_CAPTIONS = 50_000;
const sizeAuto = (key: 'units' | 'embeddingDim' | 'encoderDim' | 'learningRate') =>
  `${MODEL_SIZES.small[key]} for datasets under ${LARGE_DATASET_CAPTIONS.toLocaleString('en')} captions, else the seed's ${MODEL_SIZES.seed[key]}`;

/** Captions per step when batchSize is left automatic and the worker's memory budget admits it. */
export const DEFAULT_BATCH_SIZE = 32;

/** Input side of the default CNN when none is given. */
export const DEFAULT_CNN_IMAGE_SIZE = 128;
/** Input side of a pretrained backbone when none is given (MobileNet's and most TF Hub image models'). */
export const DEFAULT_BACKBONE_IMAGE_SIZE = 224;
/** The longest caption kept when maxLength is left to the data. */
export const MAX_CAPTION_TOKENS = 50;
/** Tokens the vocabulary adds to the top-k words: <pad>, <start>, <end>, <unk>. */
export const SPECIAL_TOKENS = 4;

const int = (min: number, max: number, dflt: number | null, description: string, extra: Partial<NumberSetting> = {}): NumberSetting => ({
  kind: 'int',
  min,
  max,
  default: dflt,
  description,
  ...extra,
});
const float = (min: number, max: number, dflt: number | null, description: string, extra: Partial<NumberSetting> = {}): NumberSetting => ({
  kind: 'float',
  min,
  max,
  default: dflt,
  description,
  ...extra,
});

export const TRAINING_SETTINGS: SettingTable<TrainingSettings> = {
  epochs: int(1, 200, null, 'passes over the training images (the model kept is the best epoch)', { auto: EPOCHS_RULE }),
  patience: int(
    0,
    200,
    0,
    "early stopping: end the run once the validation loss has not improved for this many epochs; the model keeps the best epoch's weights (0: off)",
  ),
  batchSize: int(1, 256, null, 'captions per training step', {
    auto: `${DEFAULT_BATCH_SIZE}, or the largest multiple of 4 below it that the worker's memory budget admits (down to 8, then smaller model sizes, then 4, 2, 1)`,
  }),
  learningRate: float(1e-6, 1, null, 'Adam learning rate', { minExclusive: true, auto: sizeAuto('learningRate') }),
  learningRateEnd: float(0.001, 1, 0.05, 'cosine decay: the learning rate falls to this fraction of itself by the last step (1: constant)'),
  clipNorm: float(0, 100, 5, 'global gradient-norm clip (0: off)'),
  embeddingDim: int(8, 1024, null, 'word embedding size', { auto: sizeAuto('embeddingDim') }),
  units: int(8, 2048, null, 'GRU and attention units', { auto: sizeAuto('units') }),
  vocabSize: int(10, 50_000, 5000, 'top-k words kept in the vocabulary (the model adds 4 special tokens)'),
  maxLength: int(3, 100, null, 'caption cap in tokens, <start> and <end> included', {
    auto: `from the data: the longest caption, at most ${MAX_CAPTION_TOKENS}`,
  }),
  attentionLambda: float(0, 10, 0, 'doubly stochastic attention regularisation λ (0: off)'),
  deepOutput: {
    kind: 'bool',
    default: true,
    description:
      "the output layer reads the step's attention context beside the GRU state (Show, Attend and Tell's deep output); false: the state only, as the TF tutorial",
  },
  contextDropout: float(
    0,
    0.9,
    0.25,
    "training only: share of (caption, word) steps whose attention context is dropped from the GRU's input (the output layer still reads it), so a word looks at its object again instead of recalling it",
  ),
  seed: int(0, 2_147_483_647, 42, 'seed of the initialisation, the train/validation split and the data order'),
  valFraction: float(0, 0.5, 0.1, 'share of images held out for validation (split by image)'),
  checkpointEvery: int(0, 1_000_000, 0, 'also checkpoint every N batches (0: only at epoch ends)', {
    refuse: { except: 0, below: 10, why: 'a checkpoint per batch or two costs more than the batches' },
  }),
  checkpointMinutes: float(0, 1440, 10, 'also checkpoint once this many minutes have passed since the last checkpoint (0: off)', {
    refuse: { except: 0, below: 0.05, why: 'a checkpoint every few seconds costs more than the batches' },
  }),
};

const channels: IntListSetting = {
  kind: 'intList',
  min: 4,
  max: 512,
  minLength: 1,
  maxLength: 6,
  default: null,
  auto: `one stage per pooling step, ${MODEL_SIZES.small.cnnWidth}, ${MODEL_SIZES.small.cnnWidth * 2}, … (${MODEL_SIZES.seed.cnnWidth}, … for large datasets)`,
  description: 'CNN only: channels of each conv+pool stage (as many stages as halve imageSize down to gridSize)',
};

export const ENCODER_SETTINGS: SettingTable<EncoderSettings> = {
  imageSize: int(16, 1024, null, 'square input side in pixels (the CNN: gridSize × a power of two)', {
    auto: `the CNN: the dataset's image size, at most ${DEFAULT_CNN_IMAGE_SIZE} (no upsampling); a backbone: ${DEFAULT_BACKBONE_IMAGE_SIZE}`,
  }),
  gridSize: int(2, 16, 8, 'cells per side of the feature grid the decoder attends over'),
  channels,
  encoderDim: int(8, 1024, null, 'size the image features are projected to', { auto: sizeAuto('encoderDim') }),
};

/**
 * What a run stored before a setting existed used instead (its value of the time, not today's default):
 * a row or checkpoint from then keeps behaving as it did when resumed or shown.
 */
export const BEFORE_SETTING: Partial<TrainingSettings> = { deepOutput: false, learningRateEnd: 1, contextDropout: 0, checkpointMinutes: 0 };

/** Stored training values with BEFORE_SETTING filled in where a setting is absent. */
export function withValuesOfTheTime(stored: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stored };
  for (const [key, value] of Object.entries(BEFORE_SETTING)) if (out[key] === undefined) out[key] = value;
  return out;
}

/** The schema's values with the backbone: what a client gave, defaults filled in, automatic ones still null. */
export type SettingValues = TrainingSettings &
  EncoderSettings & {
    backbone?: string;
    backboneLayer?: string;
  };

/** What the API stores as TrainingRun.config: every setting decided (only maxLength may stay null: from the data). */
export interface RunSettings
  extends Omit<TrainingSettings, 'epochs' | 'batchSize' | 'units' | 'embeddingDim' | 'learningRate'>,
    Omit<EncoderSettings, 'imageSize' | 'encoderDim'> {
  epochs: number;
  batchSize: number;
  units: number;
  embeddingDim: number;
  encoderDim: number;
  learningRate: number;
  imageSize: number;
  /** the CNN's conv channels; null with a backbone */
  channels: number[] | null;
  /** pretrained encoder: TF.js model.json URL or absolute path (absent: the CNN) */
  backbone?: string;
  /** backbone layer giving the feature map (absent: the backbone's output) */
  backboneLayer?: string;
}

/** Pooling stages the CNN needs from imageSize down to gridSize; null when imageSize is not gridSize × 2^k. */
export function cnnStages(imageSize: number, gridSize: number): number | null {
  const stages = Math.round(Math.log2(imageSize / gridSize));
  return stages >= 0 && imageSize === gridSize * 2 ** stages ? stages : null;
}

/**
 * The CNN's geometry: imageSize must be gridSize × a power of two and there must be a conv stage per
 * pooling stage. Returns [setting, reason] for the first problem, or null.
 */
export function cnnGeometryProblem(
  imageSize: number,
  gridSize: number,
  channels: readonly number[],
): [keyof EncoderSettings, string] | null {
  const stages = cnnStages(imageSize, gridSize);
  if (stages === null) return ['imageSize', `the CNN needs gridSize ${gridSize} × a power of two (e.g. ${gridSize * 8}), got ${imageSize}`];
  if (channels.length < Math.max(stages, 1)) {
    return [
      'channels',
      `${imageSize} px down to a ${gridSize}×${gridSize} grid takes ${stages} pooling stages: give at least ${Math.max(stages, 1)} channel entries, got ${channels.length}`,
    ];
  }
  return null;
}

/**
 * The CNN's default input side for images whose smallest side is `imageSide` (null: unknown): the
 * largest gridSize × 2^k up to DEFAULT_CNN_IMAGE_SIZE that does not upsample the source, at least one
 * pooling stage (gridSize × 2).
 */
export function cnnImageSizeFor(imageSide: number | null, gridSize: number): number {
  const cap = Math.min(imageSide ?? DEFAULT_CNN_IMAGE_SIZE, DEFAULT_CNN_IMAGE_SIZE);
  let size = gridSize * 2;
  while (size * 2 <= cap) size *= 2;
  return size;
}

/** The CNN's conv channels for a number of pooling stages: width, 2×width, … (at most 256). */
export function cnnChannelsFor(stages: number, width: number): number[] {
  return Array.from({ length: Math.max(stages, 1) }, (_, i) => Math.min(width * 2 ** i, 256));
}

/** What is known of the data a run trains on (null: unknown, e.g. a row from before the statistics). */
export interface DataFacts {
  captions: number | null;
  imageSide: number | null;
}

/** The model sizes a dataset gets by its caption count (unknown: the seed's). */
export function sizeTierOf(data: DataFacts): keyof typeof MODEL_SIZES {
  return data.captions !== null && data.captions < LARGE_DATASET_CAPTIONS ? 'small' : 'seed';
}

/**
 * Decides every automatic setting for a dataset: the epochs by its caption count (epochs.ts), the model sizes by its caption count (unknown: the
 * seed's; `tier` overrides), the CNN's input size by its images (no upsampling), its channels by the
 * pooling stages, the batch DEFAULT_BATCH_SIZE. Without a memory budget: planRun (plan.ts) applies the
 * budget on top, and is what the API and the worker call.
 */
export function resolveRun(values: SettingValues, data: DataFacts, tierName = sizeTierOf(data)): RunSettings {
  const tier = MODEL_SIZES[tierName];
  const { backbone, backboneLayer, ...rest } = values;
  const imageSize = values.imageSize ?? (backbone ? DEFAULT_BACKBONE_IMAGE_SIZE : cnnImageSizeFor(data.imageSide, values.gridSize));
  const channels = backbone ? null : (values.channels ?? cnnChannelsFor(cnnStages(imageSize, values.gridSize) ?? 1, tier.cnnWidth));
  const batchSize = values.batchSize ?? DEFAULT_BATCH_SIZE;
  return {
    ...rest,
    epochs: values.epochs ?? epochsFor(data.captions, values.valFraction, batchSize),
    batchSize,
    learningRate: values.learningRate ?? tier.learningRate,
    units: values.units ?? tier.units,
    embeddingDim: values.embeddingDim ?? tier.embeddingDim,
    encoderDim: values.encoderDim ?? tier.encoderDim,
    imageSize,
    channels,
    ...(backbone ? { backbone } : {}),
    ...(backbone && backboneLayer ? { backboneLayer } : {}),
  };
}
