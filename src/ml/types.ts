// Public contract of the src/ml library. The worker (src/jobs) drives the model only
// through these types; src/ml never imports anything from the app (Prisma, GraphQL, queue).

/** Encoder choice: a small CNN trained end to end (default, offline) or a pretrained TF.js backbone. */
export type EncoderConfig =
  | {
      kind: 'cnn';
      /** square input size in pixels; the CNN reduces it to an 8×8 grid */
      imageSize: number;
      /** channels of each conv stage; the last one is C in [B, 64, C] */
      channels: number[];
    }
  | {
      kind: 'pretrained';
      /** TF.js model URL (http(s)://…/model.json) or file path (file://… or plain path) */
      url: string;
      /** layer (node) whose output is the feature map; default: the model's output */
      layer?: string;
      imageSize: number;
      /** pixel range the backbone expects (default [-1, 1], Keras InceptionV3/MobileNet preprocessing) */
      inputRange?: [number, number];
      /** directory for the on-disk feature cache (one file per image hash) */
      cacheDir?: string;
    };

export interface ModelConfig {
  encoder: EncoderConfig;
  /** cells per side of the feature grid (8 → L = 64) */
  gridSize: number;
  /** dense+ReLU projection of the features (seed: 256) */
  encoderDim: number;
  embeddingDim: number;
  /** GRU units (seed: 512); also the attention units */
  units: number;
  /** vocabulary size including specials (filled from the vocabulary) */
  vocabSize: number;
  /** max caption length in tokens including <start>/<end> */
  maxLength: number;
  /** doubly stochastic attention regularisation λ (0 = off) */
  attentionLambda: number;
  /**
   * the output layer also reads the step's attention context (Show, Attend and Tell's deep output:
   * fc1(h, context)); absent/false: fc1(h) as in the TF tutorial the seed follows
   */
  deepOutput?: boolean;
  /**
   * training only: the share of (caption, step) pairs whose attention context is left out of the GRU's
   * input (inverted dropout; the output layer still reads it), so the state cannot always carry what
   * was read and a word must look at its object again (absent: 0)
   */
  contextDropout?: number;
}

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** cosine decay of the learning rate to this fraction of it by the last step (1 or absent: constant) */
  learningRateEnd?: number;
  /** global gradient-norm clip (0 = off) */
  clipNorm: number;
  seed: number;
  /** top-k words kept in the vocabulary (the model's output adds the special tokens) */
  vocabSize: number;
  /** cap on caption length (default: longest caption, capped at 50) */
  maxLength?: number;
  /** fraction of images held out for validation (split by image) */
  valFraction: number;
  /** checkpoint every N batches (0 = only at epoch end) */
  checkpointEvery: number;
  /** also checkpoint once this many minutes have passed since the last one (0 or absent = off) */
  checkpointMinutes?: number;
  /** early stopping: stop once the validation loss has not improved for this many epochs (0 or absent = off) */
  patience?: number;
}

export interface BatchEvent {
  epoch: number;
  batch: number;
  /** global step, 1-based, continuous across resumes */
  step: number;
  loss: number;
  examplesPerSec: number;
}

export interface EpochEvent {
  epoch: number;
  step: number;
  trainLoss: number;
  valLoss: number | null;
  bleu4: number | null;
  /** object-level scores of the captioned validation images (sets that list objects; else null) */
  objects: { precision: number; recall: number; f1: number; exactRate: number; images: number } | null;
}

export interface CheckpointEvent {
  step: number;
  epoch: number;
  /** directory of the checkpoint (weights, optimiser state, vocab, config, step) */
  path: string;
}

/** One image with its reference captions, after loading a dataset (COCO format). */
export interface CaptionedImage {
  id: string;
  /** absolute path of the image file */
  file: string;
  captions: string[];
  /** optional extras (synthetic sets: object boxes, normalised 0..1) */
  objects?: { shape: string; color: string; size: string; bbox: [number, number, number, number] }[];
}

export interface TokenEvent {
  index: number;
  token: string;
  /** one weight per grid cell (L = gridSize²), sums to 1 */
  attention: Float32Array;
  logProb: number;
}

export interface CaptionResult {
  tokens: TokenEvent[];
  caption: string;
  /** sum of the chosen tokens' log-probabilities */
  logProb: number;
}

export type DecodeMethod = 'greedy' | 'beam' | 'sample';

export interface DecodeOptions {
  method?: DecodeMethod;
  beamWidth?: number;
  maxLength?: number;
  temperature?: number;
  /** seed for sampling */
  seed?: number;
}

export interface BackendInfo {
  name: string;
  threads: number;
  /** e.g. "tfjs-node-gpu unavailable: …" */
  notes: string[];
}
